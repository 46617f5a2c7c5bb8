-- The peer of benchmark 1: the ledger engine's aggregates as one DuckDB query.
-- An invoice is open at a month-end when it is dated on or before it and its settlements
-- (payments, credit notes, write-offs) dated on or before it leave more than half a cent.
-- It can only be open before its last settlement (when they cover it at all), so the
-- (invoice, month-end) candidates come from one range join, and settlements are summed per
-- month-end only where some may be partial (not for an invoice settled by one transaction).
WITH inv AS (
  SELECT business_unit AS bu, invoice_id, invoice_date, due_date, amount
  FROM read_parquet('{root}/invoices/*/*.parquet', hive_partitioning = true)),
txn AS (
  SELECT business_unit AS bu, invoice_id, date, amount, kind
  FROM read_parquet('{root}/transactions/*/*.parquet', hive_partitioning = true)),
st AS (
  SELECT bu, invoice_id, date, amount FROM txn
  WHERE kind IN ('payment', 'credit_note', 'write_off') AND invoice_id IS NOT NULL),
per_inv AS (
  SELECT bu, invoice_id, sum(amount) AS settled, max(date) AS last_date, count(*) AS n
  FROM st GROUP BY ALL),
spans AS (
  SELECT i.bu, i.invoice_id, i.invoice_date, i.due_date, i.amount,
         coalesce(p.n, 0) > 1 OR i.amount - coalesce(p.settled, 0) > 0.005 AND p.n = 1 AS partial,
         CASE WHEN i.amount - coalesce(p.settled, 0) > 0.005 THEN DATE '9999-12-31' ELSE p.last_date END AS until
  FROM inv i LEFT JOIN per_inv p ON p.bu = i.bu AND p.invoice_id = i.invoice_id),
me AS (SELECT unnest([{ends}]) AS month_end),
pairs AS (
  SELECT s.bu, s.invoice_id, s.amount, s.due_date, s.partial, m.month_end
  FROM spans s JOIN me m ON s.invoice_date <= m.month_end AND m.month_end < s.until),
partial AS (
  SELECT q.bu, q.invoice_id, q.month_end, sum(t.amount) AS settled
  FROM (SELECT * FROM pairs WHERE partial) q
  JOIN st t ON t.bu = q.bu AND t.invoice_id = q.invoice_id AND t.date <= q.month_end
  GROUP BY ALL),
snap AS (
  SELECT q.bu, q.month_end, q.amount - coalesce(p.settled, 0) AS open_amount,
         date_diff('day', q.due_date, q.month_end) AS dpd
  FROM pairs q LEFT JOIN partial p
    ON p.bu = q.bu AND p.invoice_id = q.invoice_id AND p.month_end = q.month_end),
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
