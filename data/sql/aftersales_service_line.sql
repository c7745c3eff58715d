-- aftersales_service_line: what a service.* order event adds to its line of
-- the tracking timeline (order_tracking_doc): "text", and as the kind has
-- them engineer {first_name} (+ id in the full view), window {start, end},
-- eta, arrived_at, duration_s, charges (items, base_fee, total, currency),
-- total, late, compensation, reason. p_public masks as order_tracking_doc
-- does (first name only, no ids, no notes, no fen members). Local times in
-- the text use the detail's utc_offset_s; without it, the times as written
-- (an RFC 3339 text with its own offset shows that offset's clock).
-- Details (service_event.sql, and issue 12's P1/P2 events): appointment,
-- engineer, engineer_name, type, window_start, window_end, utc_offset_s,
-- eta, late, compensation, started_at, completed_at, duration_s, charges
-- {items [{code, unit, qty, unit_price_fen, amount_fen}], base_fee_fen,
-- total_fen}, total, currency, reason, notes.
-- plpgsql: money_text (a later file) is looked up when called.
CREATE OR REPLACE FUNCTION aftersales_service_line(p_kind text, p_detail jsonb, p_public boolean)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
	d jsonb := coalesce(p_detail, '{}'::jsonb);
	what text := coalesce(initcap(replace(d->>'type', '_', ' ')), 'Service');
	who text := courier_first_name(d->>'engineer_name');
	eng text;
	win text;
	eta text;
	dur text;
	cur text := coalesce(d->>'currency', 'CNY');
	items text;
	secs bigint := (d->>'duration_s')::bigint;
	txt text;
	fee bigint := (d->'charges'->>'base_fee_fen')::bigint;
BEGIN
	eng := 'Engineer' || coalesce(' ' || who, '');
	-- "2026-12-03 09:00-13:00" and "10:40", local when the offset is known.
	SELECT to_char(s, 'YYYY-MM-DD HH24:MI') || '-' || to_char(e, 'HH24:MI') INTO win
	  FROM (SELECT CASE WHEN d ? 'utc_offset_s'
			    THEN ((d->>'window_start')::timestamptz AT TIME ZONE 'UTC')
				 + make_interval(secs => (d->>'utc_offset_s')::integer)
			    ELSE substr(d->>'window_start', 1, 19)::timestamp END AS s,
		       CASE WHEN d ? 'utc_offset_s'
			    THEN ((d->>'window_end')::timestamptz AT TIME ZONE 'UTC')
				 + make_interval(secs => (d->>'utc_offset_s')::integer)
			    ELSE substr(d->>'window_end', 1, 19)::timestamp END AS e) AS x;
	SELECT to_char(CASE WHEN d ? 'utc_offset_s'
			    THEN ((d->>'eta')::timestamptz AT TIME ZONE 'UTC')
				 + make_interval(secs => (d->>'utc_offset_s')::integer)
			    ELSE substr(d->>'eta', 1, 19)::timestamp END, 'HH24:MI') INTO eta;
	dur := CASE WHEN secs IS NULL THEN NULL
		    WHEN secs >= 3600 AND secs % 3600 / 60 > 0
		    THEN secs / 3600 || ' h ' || secs % 3600 / 60 || ' min'
		    WHEN secs >= 3600 THEN secs / 3600 || ' h'
		    ELSE secs / 60 || ' min' END;
	SELECT string_agg(replace(i->>'code', '_', ' ') || ' ' || (i->>'qty') || ' '
			  || coalesce(i->>'unit', 'unit'), ', ' ORDER BY n) INTO items
	  FROM jsonb_array_elements(coalesce(d->'charges'->'items', '[]'::jsonb))
	       WITH ORDINALITY AS y (i, n);
	IF fee > 0 THEN
		items := 'base fee ' || money_text(fee) || coalesce(', ' || items, '');
	END IF;
	txt := CASE p_kind
		WHEN 'service.booked' THEN what || ' booked' || coalesce(' for ' || win, '')
		WHEN 'service.rescheduled' THEN what || ' moved' || coalesce(' to ' || win, '')
		WHEN 'service.cancelled' THEN what || ' cancelled'
		WHEN 'service.planned' THEN eng || ' will come'
					    || coalesce(' at about ' || eta, '')
					    || coalesce(' (window ' || win || ')', '')
		WHEN 'service.arrived' THEN eng || ' arrived'
		WHEN 'service.started' THEN CASE
			WHEN coalesce((d->>'late')::boolean, false)
			THEN 'The engineer started after the window closed'
			     || CASE WHEN coalesce((d->>'compensation_fen')::bigint, 0) > 0
				     THEN ': ' || (d->>'compensation') || ' ' || cur || ' compensation'
				     ELSE '' END
			ELSE eng || ' started the ' || lower(what) END
		WHEN 'service.completed' THEN what || ' completed'
			|| coalesce(' in ' || dur, '') || '; '
			|| CASE WHEN coalesce((d->'charges'->>'total_fen')::bigint, 0) = 0
				THEN 'nothing charged'
				ELSE 'charged ' || (d->>'total') || ' ' || cur
				     || coalesce(' (' || items || ')', '') END
		WHEN 'service.failed' THEN 'The visit could not be done: '
			|| CASE d->>'reason'
			   WHEN 'customer_absent' THEN 'nobody was there'
			   WHEN 'no_access' THEN 'the engineer could not get in'
			   WHEN 'parts_missing' THEN 'parts were missing'
			   WHEN 'unsafe' THEN 'it was not safe to work'
			   ELSE 'another reason' END
		ELSE what END;
	RETURN jsonb_strip_nulls(jsonb_build_object(
		'text', txt,
		'appointment', CASE WHEN NOT p_public THEN d->>'appointment' END,
		'engineer', CASE WHEN d ? 'engineer' OR who IS NOT NULL THEN
			jsonb_build_object('first_name', who)
			|| CASE WHEN p_public THEN '{}'::jsonb
				ELSE jsonb_build_object('id', d->>'engineer') END END,
		'window', CASE WHEN d ? 'window_start' THEN jsonb_build_object(
			'start', d->>'window_start', 'end', d->>'window_end') END,
		'eta', d->>'eta',
		'duration_s', secs,
		'charges', CASE WHEN p_kind = 'service.completed'
				THEN service_charges_doc(d->'charges', cur, p_public) END,
		'total', CASE WHEN p_kind = 'service.completed' THEN d->>'total' END,
		'late', CASE WHEN p_kind IN ('service.started', 'service.completed')
			     THEN d->'late' END,
		'compensation', CASE WHEN coalesce((d->>'late')::boolean, false)
				     THEN d->>'compensation' END,
		'reason', CASE WHEN p_kind = 'service.failed' THEN d->>'reason' END,
		'notes', CASE WHEN p_kind = 'service.failed' AND NOT p_public
			      THEN d->>'notes' END));
END
$fn$;
