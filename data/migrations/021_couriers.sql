-- 021: couriers' shifts and duty (issue 11, part B). The couriers table
-- itself is 019's; this adds when each courier works and when one was
-- marked off duty. data/sql/couriers_on_shift.sql turns them into instants.
--
--   courier_shifts         one row per courier with shifts: the IANA zone
--                          its local times are in ([promise] timezone when
--                          the shifts were set)
--   courier_shift_weekly   the weekly pattern: local start/end per ISO weekday
--   courier_shift_dates    dated overrides: a date with rows here uses them
--                          instead of the weekly pattern; a row without times
--                          is a day off
--   courier_duty_offs      "off duty now" marks (POST .../duty): from when
--                          until the end of that local day, or until the
--                          courier was marked back on (history, never deleted)

CREATE TABLE courier_shifts (
	courier_id text PRIMARY KEY REFERENCES couriers (id),
	tz text NOT NULL CHECK (tz <> ''),
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- Local wall-clock times; end_at may be 24:00 (midnight at the day's end).
-- Shifts do not cross midnight: a night shift is two rows.
CREATE TABLE courier_shift_weekly (
	courier_id text NOT NULL REFERENCES courier_shifts (courier_id) ON DELETE CASCADE,
	isodow smallint NOT NULL CHECK (isodow BETWEEN 1 AND 7), -- 1 = Monday
	start_at time NOT NULL,
	end_at time NOT NULL,
	CHECK (start_at < end_at),
	PRIMARY KEY (courier_id, isodow, start_at)
);

CREATE TABLE courier_shift_dates (
	courier_id text NOT NULL REFERENCES courier_shifts (courier_id) ON DELETE CASCADE,
	day date NOT NULL,
	start_at time,                          -- both NULL: off that day
	end_at time,
	CHECK ((start_at IS NULL) = (end_at IS NULL)),
	CHECK (start_at IS NULL OR start_at < end_at)
);
CREATE UNIQUE INDEX courier_shift_dates_key
	ON courier_shift_dates (courier_id, day, coalesce(start_at, '00:00'));

CREATE TABLE courier_duty_offs (
	id bigserial PRIMARY KEY,
	courier_id text NOT NULL REFERENCES couriers (id),
	off_from timestamptz NOT NULL,          -- the daemon's clock when marked off
	off_until timestamptz NOT NULL,         -- end of that local day, or when marked on
	reason text NOT NULL DEFAULT '',
	off_by text NOT NULL,                   -- api_tokens.id of who marked it off
	on_by text,                             -- and who marked the courier back on
	CHECK (off_until >= off_from)
);
CREATE INDEX courier_duty_offs_courier ON courier_duty_offs (courier_id, off_until);
