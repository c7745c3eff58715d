-- pgTAP: the timeline lines of service visits (aftersales_service_line) for
-- every service.* kind, including the booking parts' (P1, P2) whose details
-- carry the window with or without utc_offset_s: local window text, ETA,
-- durations, charges text with the base fee, the late line with and
-- without compensation, failure reasons, and the public view's masking.
-- service_charges_doc's public view drops the fen members.
BEGIN;
SELECT plan(16);

SELECT is(aftersales_service_line('service.booked', '{"type": "installation",
	"window_start": "2026-12-03T01:00:00.000Z", "window_end": "2026-12-03T05:00:00.000Z",
	"utc_offset_s": 28800}', true)->>'text',
	'Installation booked for 2026-12-03 09:00-13:00', 'booked: the local window');
SELECT is(aftersales_service_line('service.booked', '{"type": "repair",
	"window_start": "2026-12-03T14:00:00+08:00", "window_end": "2026-12-03T18:00:00+08:00"}',
	true)->>'text',
	'Repair booked for 2026-12-03 14:00-18:00', 'booked: without an offset, the times as written');
SELECT is(aftersales_service_line('service.rescheduled', '{"type": "cleaning",
	"window_start": "2026-12-04T01:00:00Z", "window_end": "2026-12-04T05:00:00Z",
	"utc_offset_s": 28800}', true)->>'text',
	'Cleaning moved to 2026-12-04 09:00-13:00', 'rescheduled');
SELECT is(aftersales_service_line('service.cancelled', '{"type": "installation"}', true)->>'text',
	'Installation cancelled', 'cancelled');
SELECT is(aftersales_service_line('service.planned', '{"type": "installation",
	"engineer": "e-1", "engineer_name": "Wang Xiaoming", "eta": "2026-12-03T02:40:00.000Z",
	"window_start": "2026-12-03T01:00:00.000Z", "window_end": "2026-12-03T05:00:00.000Z",
	"utc_offset_s": 28800}', true)->>'text',
	'Engineer Wang will come at about 10:40 (window 2026-12-03 09:00-13:00)', 'planned: the ETA');
SELECT is(aftersales_service_line('service.arrived', '{"engineer": "e-1",
	"engineer_name": "王小明"}', true)->'engineer', '{"first_name": "王"}',
	'public: the first name only');
SELECT is(aftersales_service_line('service.arrived', '{"engineer": "e-1",
	"engineer_name": "Wang Xiaoming", "appointment": "svc_0000000000000001"}', false)
	- 'text', '{"engineer": {"id": "e-1", "first_name": "Wang"},
	"appointment": "svc_0000000000000001"}', 'full: the ids');
SELECT is(aftersales_service_line('service.started', '{"type": "repair",
	"engineer_name": "Wang Xiaoming", "late": false}', true)->>'text',
	'Engineer Wang started the repair', 'started on time');
SELECT is(aftersales_service_line('service.started', '{"late": true, "compensation": "50.00",
	"compensation_fen": 5000}', true)->>'text',
	'The engineer started after the window closed: 50.00 CNY compensation', 'started late');
SELECT is(aftersales_service_line('service.started', '{"late": true, "compensation": "0.00",
	"compensation_fen": 0}', true)->>'text',
	'The engineer started after the window closed', 'late without compensation configured');
SELECT is(aftersales_service_line('service.completed', '{"type": "installation",
	"duration_s": 5100, "total": "45.00", "currency": "CNY", "charges": {"items": [{"code":
	"pipe_extension", "unit": "m", "qty": 3, "unit_price_fen": 1500, "amount_fen": 4500}],
	"base_fee_fen": 0, "total_fen": 4500}}', true)->>'text',
	'Installation completed in 1 h 25 min; charged 45.00 CNY (pipe extension 3 m)',
	'completed: the itemised charge');
SELECT is(aftersales_service_line('service.completed', '{"type": "repair", "duration_s": 7200,
	"total": "80.00", "charges": {"items": [], "base_fee_fen": 8000, "total_fen": 8000}}',
	true)->>'text',
	'Repair completed in 2 h; charged 80.00 CNY (base fee 80.00)', 'completed: base fee only');
SELECT is(aftersales_service_line('service.completed', '{"type": "installation",
	"duration_s": 600, "total": "0.00", "charges": {"items": [], "base_fee_fen": 0,
	"total_fen": 0}}', true)->>'text',
	'Installation completed in 10 min; nothing charged', 'completed: nothing charged');
SELECT is(aftersales_service_line('service.failed', '{"reason": "parts_missing",
	"notes": "wrong valve"}', true), '{"text": "The visit could not be done: parts were missing",
	"reason": "parts_missing"}', 'failed: public, no notes');
SELECT is(aftersales_service_line('service.failed', '{"reason": "parts_missing",
	"notes": "wrong valve"}', false)->>'notes', 'wrong valve', 'failed: full view, notes');
SELECT is(service_charges_doc('{"items": [{"code": "a", "unit": "m", "qty": 3,
	"unit_price_fen": 10, "amount_fen": 30}], "base_fee_fen": 0, "base_fee_waived": true,
	"total_fen": 30}', 'CNY', true), '{"items": [{"code": "a", "unit": "m", "qty": 3,
	"unit_price": "0.10", "amount": "0.30"}], "base_fee": "0.00", "base_fee_waived": true,
	"total": "0.30", "currency": "CNY"}', 'charges: public view, exact fen as text');

SELECT * FROM finish();
ROLLBACK;
