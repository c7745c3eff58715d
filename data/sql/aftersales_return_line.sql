-- aftersales_return_line: what a return.* order event adds to its line of
-- the tracking timeline (order_tracking_doc): "text", and "return", and per
-- kind its lines, return_reason, refund (amount, amount_fen, currency,
-- policy), pickup (wave, window), the failed pickup's reason and attempt.
-- p_public masks as order_tracking_doc does: no stop ids, no failure notes.
-- The kinds (written by return_request, exchange_create, stop_event,
-- return_collected, return_scan and return_inspect): return.requested,
-- return.picked_up, return.refund_due, return.pickup_failed,
-- return.pickup_rescheduled, return.failed, return.cancelled (intake_cancel
-- of an exchange's replacement), return.at_station,
-- return.departed_station, return.received, return.inspected.
-- Local times ("pickup on 2026-12-03 09:00-13:00") are the wave's, as the
-- event recorded them (RFC 3339 with the station's offset).
-- plpgsql so that money_text may be created after this file.
CREATE OR REPLACE FUNCTION aftersales_return_line(p_kind text, p_detail jsonb, p_public boolean)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
DECLARE
	d jsonb := coalesce(p_detail, '{}'::jsonb);
	ws text := d->>'window_start';
	we text := d->>'window_end';
	v_text text;
BEGIN
	v_text := CASE p_kind
		WHEN 'return.requested' THEN CASE WHEN d->>'kind' = 'exchange' THEN 'Exchange'
						  ELSE 'Return' END || ' requested: pickup on '
			|| substr(ws, 1, 10) || ' ' || substr(ws, 12, 5) || '-' || substr(we, 12, 5)
		WHEN 'return.picked_up' THEN 'Picked up'
			|| coalesce(' by courier ' || courier_first_name(d->>'courier_name'), '')
		WHEN 'return.refund_due' THEN 'Refund of ' || (d->>'amount') || ' '
			|| coalesce(d->>'currency', 'CNY') || ' due'
		WHEN 'return.pickup_failed' THEN 'Pickup attempt '
			|| coalesce(d->>'attempt', '1') || ' failed'
		WHEN 'return.pickup_rescheduled' THEN 'Pickup moved to '
			|| substr(ws, 1, 10) || ' ' || substr(ws, 12, 5)
		WHEN 'return.failed' THEN 'The pickup failed after '
			|| coalesce(d->>'attempts', '1') || ' attempts; the return is closed'
		WHEN 'return.cancelled' THEN 'The exchange was called off: its replacement order '
			|| 'was cancelled'
		WHEN 'return.at_station' THEN 'The return is at the delivery station'
		WHEN 'return.departed_station' THEN 'The return left the station for the warehouse'
		WHEN 'return.received' THEN 'Received at the warehouse'
		WHEN 'return.inspected' THEN 'Inspected: ' || coalesce(d->>'passed', '0') || ' passed'
			|| CASE WHEN coalesce((d->>'failed')::integer, 0) > 0
				THEN ', ' || (d->>'failed') || ' failed' ELSE '' END
		ELSE p_kind END;
	RETURN jsonb_strip_nulls(jsonb_build_object(
		'text', v_text,
		'return', d->'return',
		'lines', d->'lines',
		'reason', CASE WHEN p_kind = 'return.pickup_failed' THEN d->'reason' END,
		'return_reason', CASE WHEN p_kind = 'return.requested' THEN d->'reason' END,
		'pickup', CASE WHEN p_kind IN ('return.requested', 'return.pickup_rescheduled')
			       THEN jsonb_strip_nulls(jsonb_build_object('wave', d->'wave',
					'window_start', d->'window_start',
					'window_end', d->'window_end')) END,
		'refund', CASE WHEN p_kind IN ('return.requested', 'return.refund_due')
			       THEN jsonb_strip_nulls(jsonb_build_object('amount', d->'amount',
					'amount_fen', d->'amount_fen', 'currency', d->'currency',
					'policy', d->'policy')) END,
		'attempt', CASE WHEN p_kind IN ('return.pickup_failed', 'return.pickup_rescheduled')
				THEN d->'attempt' END,
		'notes', CASE WHEN p_kind = 'return.pickup_failed' AND NOT p_public
			      THEN d->'notes' END,
		'stop', CASE WHEN NOT p_public THEN d->'stop' END));
END
$fn$;
