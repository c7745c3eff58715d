-- 010: station capacity (delivery promise). The record of how many stops
-- each station counter (a wave, a precise slot, a large-item window, the
-- installation visits of one) has booked. Redis keeps the same counts for
-- speed and is rebuilt from here whenever it loses them; a booking is only
-- real once it is counted here, by a conditional increment in the order's
-- transaction, so a slot is never booked over its capacity even if Redis
-- is flushed mid-burst.
CREATE TABLE capacity_counters (
	station_id text NOT NULL,
	counter_key text NOT NULL CHECK (counter_key ~ '^[0-9]{8}-[WSLI][0-9]{4}$'),
	capacity integer NOT NULL CHECK (capacity >= 0),
	booked integer NOT NULL DEFAULT 0 CHECK (booked >= 0),
	CONSTRAINT capacity_not_exceeded CHECK (booked <= capacity),
	PRIMARY KEY (station_id, counter_key)
);

-- Which counters an order booked, so that a cancellation gives them back.
CREATE TABLE order_capacity (
	order_id text NOT NULL REFERENCES orders (id),
	station_id text NOT NULL,
	counter_key text NOT NULL,
	released boolean NOT NULL DEFAULT false,
	PRIMARY KEY (order_id, counter_key)
);

-- Book one place on a counter if it has one left: true when booked. The
-- capacity is the configured one now (couriers x stops); lowering it below
-- what is booked makes the counter full, it never un-books anyone.
CREATE FUNCTION capacity_book(p_station text, p_key text, p_capacity integer)
RETURNS boolean LANGUAGE sql AS $$
	INSERT INTO capacity_counters AS c (station_id, counter_key, capacity, booked)
	SELECT p_station, p_key, p_capacity, 1 WHERE p_capacity > 0
	ON CONFLICT (station_id, counter_key) DO UPDATE
		SET booked = c.booked + 1, capacity = EXCLUDED.capacity
		WHERE c.booked < EXCLUDED.capacity
	RETURNING true
$$;

-- Give one place back (cancellation).
CREATE FUNCTION capacity_release(p_station text, p_key text)
RETURNS void LANGUAGE sql AS $$
	UPDATE capacity_counters SET booked = booked - 1
	WHERE station_id = p_station AND counter_key = p_key AND booked > 0
$$;
