-- One row per LLM call the gateway finished: counts, prices, timings and names, never prompt or
-- answer text. The request id is the key, so a record delivered twice is stored once.
CREATE TABLE usage_ledger (
  request_id          text PRIMARY KEY,
  ts                  timestamptz NOT NULL,
  tenant              text NOT NULL,
  key_id              text NOT NULL,
  requested_model     text,
  model               text NOT NULL,
  provider            text NOT NULL,
  tier                text,
  stream              boolean NOT NULL,
  input_tokens        integer,
  output_tokens       integer,
  cached_input_tokens integer,
  reasoning_tokens    integer,
  cost_usd            numeric(24, 12),
  saved_usd           numeric(24, 12),
  cache               text NOT NULL CHECK (cache IN ('hit', 'miss', 'bypass')),
  status              smallint NOT NULL,
  latency_ms          double precision NOT NULL,
  ttft_ms             double precision,
  attempts            smallint NOT NULL,
  route_reason        text,
  aborted             boolean NOT NULL,
  usage_estimated     boolean NOT NULL,
  inserted_at         timestamptz NOT NULL DEFAULT now()
);

-- Every query is one tenant over a time range.
CREATE INDEX usage_ledger_tenant_ts ON usage_ledger (tenant, ts);

-- Stream entries that did not read as records: kept (with the stream id) rather than blocking
-- the consumer group or vanishing.
CREATE TABLE usage_ledger_rejects (
  stream_id   text PRIMARY KEY,
  payload     text NOT NULL,
  reason      text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
