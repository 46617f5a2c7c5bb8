-- The strongest DuckDB peer of benchmark 1 (the ledger engine's aggregates), threads = 2.
-- Each invoice's open span is unnested into the month-ends it covers (no range join); an
-- invoice is open at month-end m when it is dated on or before m and m is before its last
-- settlement (or it is still open at as_of). Settled-to-date is looked up, by an ASOF join on
-- the running total of its settlements, only for invoices that can be partly settled at a
-- month-end (settlements on more than one day, or one that leaves something open).
WITH inv AS (
  SELECT business_unit AS bu, invoice_id, invoice_date, due_date, amount
  FROM read_parquet('{root}/invoices/*/*.parquet', hive_partitioning = true)),
txn AS (
  SELECT business_unit AS bu, invoice_id, date, amount, kind
  FROM read_parquet('{root}/transactions/*/*.parquet', hive_partitioning = true)),
st AS (
  SELECT bu, invoice_id, date, sum(amount) AS amount FROM txn
  WHERE kind IN ('payment', 'credit_note', 'write_off') AND invoice_id IS NOT NULL
  GROUP BY ALL),
per_inv AS (
  SELECT bu, invoice_id, sum(amount) AS settled, max(date) AS last_date, count(*) AS n
  FROM st GROUP BY ALL),
spans AS (
  SELECT i.bu, i.invoice_id, i.due_date, i.amount,
         coalesce(p.n > 1 OR (p.n = 1 AND i.amount - p.settled > 0.005), false) AS partial,
         greatest(date_trunc('month', i.invoice_date), DATE '{first_start}') AS m0,
         CASE WHEN i.amount - coalesce(p.settled, 0) > 0.005 THEN DATE '{as_of_start}'
              ELSE least(date_trunc('month', p.last_date) - INTERVAL 1 MONTH, DATE '{as_of_start}')
         END AS m1
  FROM inv i LEFT JOIN per_inv p ON p.bu = i.bu AND p.invoice_id = i.invoice_id
  WHERE i.invoice_date <= DATE '{as_of}'),
pairs AS (
  SELECT bu, invoice_id, due_date, amount, partial,
         last_day(unnest(generate_series(m0, m1, INTERVAL 1 MONTH))::DATE) AS month_end
  FROM spans WHERE m0 <= m1),
running AS (
  SELECT bu, invoice_id, date,
         sum(amount) OVER (PARTITION BY bu, invoice_id ORDER BY date) AS settled
  FROM st),
snap AS (
  SELECT q.bu, q.month_end, q.amount - coalesce(r.settled, 0) AS open_amount,
         date_diff('day', q.due_date, q.month_end) AS dpd
  FROM (SELECT * FROM pairs WHERE partial) q
  ASOF LEFT JOIN running r
    ON r.bu = q.bu AND r.invoice_id = q.invoice_id AND q.month_end >= r.date
  UNION ALL
  SELECT bu, month_end, amount, date_diff('day', due_date, month_end) FROM pairs WHERE NOT partial),
hist AS (
  SELECT bu, month_end, CASE {buckets} ELSE {last} END AS bucket,
         sum(open_amount) AS amount, count(*) AS n
  FROM snap WHERE open_amount > 0.005 GROUP BY ALL),
flows AS (
  SELECT bu, month, sum(invoiced) AS invoiced, sum(collected) AS collected, sum(credited) AS credited,
         sum(written_off) AS written_off, sum(recovered) AS recovered
  FROM (SELECT bu, date_trunc('month', invoice_date) AS month, amount AS invoiced, 0.0 AS collected,
               0.0 AS credited, 0.0 AS written_off, 0.0 AS recovered FROM inv
        UNION ALL
        SELECT bu, date_trunc('month', date), 0.0,
               CASE WHEN kind = 'payment' THEN amount ELSE 0 END,
               CASE WHEN kind = 'credit_note' THEN amount ELSE 0 END,
               CASE WHEN kind = 'write_off' THEN amount ELSE 0 END,
               CASE WHEN kind = 'recovery' THEN amount ELSE 0 END FROM txn)
  GROUP BY ALL)
SELECT 'history' AS what, bu, month_end AS period, bucket, round(amount, 2) AS amount, n AS count,
       NULL::DOUBLE AS collected, NULL::DOUBLE AS credited, NULL::DOUBLE AS written_off,
       NULL::DOUBLE AS recovered
FROM hist
UNION ALL
SELECT 'flows', bu, month, NULL, round(invoiced, 2), NULL, round(collected, 2), round(credited, 2),
       round(written_off, 2), round(recovered, 2)
FROM flows
