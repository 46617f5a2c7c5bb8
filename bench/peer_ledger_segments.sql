-- The strongest DuckDB peer of benchmark 1 (the ledger engine's aggregates), threads = 2.
-- An invoice's open amount is constant between two of its events (its invoice date, then
-- each settlement: payment, credit note, write-off): one window over the invoices and their
-- settlements, by invoice and date, gives every segment of constant open amount (the amount
-- less the running settled total) and the next event's date. A settlement dated d counts at
-- month-end m when d <= m, so a segment covers the month-ends from its event's month to the
-- month before the next event's; each segment with something open (over half a cent) is
-- unnested into those month-ends. No range or ASOF join, no per-invoice aggregate.
WITH ev AS (
  SELECT business_unit AS bu, invoice_id, invoice_date AS date, amount, due_date, 0 AS o
  FROM read_parquet('{root}/invoices/*/*.parquet', hive_partitioning = true)
  UNION ALL
  SELECT business_unit, invoice_id, date, -amount, NULL, 1
  FROM read_parquet('{root}/transactions/*/*.parquet', hive_partitioning = true)
  WHERE kind IN ('payment', 'credit_note', 'write_off') AND invoice_id IS NOT NULL),
seg AS (
  SELECT bu, sum(amount) OVER w AS open_amount,
         max(due_date) OVER (PARTITION BY bu, invoice_id) AS due_date,
         greatest(date_trunc('month', date), DATE '{first_start}') AS m0,
         least(coalesce(date_trunc('month', lead(date) OVER w) - INTERVAL 1 MONTH,
                        DATE '{as_of_start}'), DATE '{as_of_start}') AS m1
  FROM ev
  WINDOW w AS (PARTITION BY bu, invoice_id ORDER BY date, o ROWS UNBOUNDED PRECEDING)),
snap AS (
  SELECT bu, open_amount, month_end, date_diff('day', due_date, month_end) AS dpd
  FROM (SELECT bu, open_amount, due_date,
               last_day(unnest(generate_series(m0, m1, INTERVAL 1 MONTH))::DATE) AS month_end
        FROM seg WHERE open_amount > 0.005 AND m0 <= m1 AND due_date IS NOT NULL)),
hist AS (
  SELECT bu, month_end, CASE {buckets} ELSE {last} END AS bucket,
         sum(open_amount) AS amount, count(*) AS n
  FROM snap GROUP BY ALL),
txn AS (
  SELECT business_unit AS bu, date, amount, kind
  FROM read_parquet('{root}/transactions/*/*.parquet', hive_partitioning = true)),
flows AS (
  SELECT bu, month, sum(invoiced) AS invoiced, sum(collected) AS collected, sum(credited) AS credited,
         sum(written_off) AS written_off, sum(recovered) AS recovered
  FROM (SELECT business_unit AS bu, date_trunc('month', invoice_date) AS month, amount AS invoiced,
               0.0 AS collected, 0.0 AS credited, 0.0 AS written_off, 0.0 AS recovered
        FROM read_parquet('{root}/invoices/*/*.parquet', hive_partitioning = true)
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
