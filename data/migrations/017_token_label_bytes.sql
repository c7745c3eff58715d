-- A token label is at most 200 bytes, as the API, dispatchctl and the
-- daemon's cache count it (014 counted characters: a multibyte label set by
-- hand could overflow the cache's buffer mid-character).
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_label_check,
	ADD CONSTRAINT api_tokens_label_check CHECK (octet_length(label) <= 200);
