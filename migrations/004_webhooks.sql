-- Outbound webhooks: endpoints registered by admins, and one delivery row per (endpoint, event)
-- that is also the delivery log. The secret signs every request (HMAC-SHA256); it is needed in
-- clear to sign, so it is shown once and never returned by the API again.

CREATE TABLE webhook_endpoints (
  id                    uuid PRIMARY KEY,
  url                   text NOT NULL,
  secret                text NOT NULL,
  description           text NOT NULL DEFAULT '',
  -- NULL: events of every assessment; otherwise only these.
  assessment_ids        text[],
  events                text[] NOT NULL,
  created_by            text NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  -- Deliveries that failed for good, in a row; reset by any success.
  consecutive_failures  integer NOT NULL DEFAULT 0,
  disabled_at           timestamptz,
  disabled_reason       text
);

CREATE TABLE webhook_deliveries (
  id                uuid PRIMARY KEY,
  endpoint_id       uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event             text NOT NULL,
  -- Sent as X-Idempotency-Key, the same on every attempt: receivers deduplicate on it.
  idempotency_key   text NOT NULL,
  -- The exact body sent on every attempt.
  body              text NOT NULL,
  status            text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts          integer NOT NULL DEFAULT 0,
  last_status_code  integer,
  last_error        text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  last_attempt_at   timestamptz,
  finished_at       timestamptz,
  UNIQUE (endpoint_id, idempotency_key)
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (created_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
  delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt       integer NOT NULL,
  at            timestamptz NOT NULL DEFAULT now(),
  status_code   integer,
  error         text,
  duration_ms   integer NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
