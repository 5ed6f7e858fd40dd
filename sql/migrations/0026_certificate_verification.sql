-- The service record certificate in the fields of 《志愿服务记录与证明出具办法》, verifiable by anyone.
--
-- The platform's volunteer number (志愿者编号) stands where the rules put the identity document's number, which Linli
-- does not collect. It is derived from the id by a bijection of the nine-digit numbers (3^18 is coprime with 10^9),
-- so it is stable, unique and needs no sequence, yet does not tell how many volunteers signed up before.
ALTER TABLE volunteers
    ADD COLUMN number text GENERATED ALWAYS AS ('V' || lpad(((id * 387420489) % 1000000000)::text, 9, '0')) STORED,
    ADD CONSTRAINT volunteers_number_unique UNIQUE (number);

-- A certificate's number is a date and a sequence, easy to guess; the public verification page asks for it together
-- with this check code (48 random bits from gen_random_uuid, whose first 12 hex digits are all random), printed on
-- the certificate and carried by its QR code. Existing certificates get a code each: a volatile default is evaluated
-- per row.
ALTER TABLE service_certificates
    ADD COLUMN check_code text NOT NULL DEFAULT upper(substr(replace(gen_random_uuid()::text, '-', ''), 1, 12))
        CONSTRAINT service_certificates_check_code CHECK (check_code ~ '^[0-9A-F]{12}$');
