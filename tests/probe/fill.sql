-- fill.sql - a day of probe measurements, one a minute, for three targets,
-- ending now: web down for the last two hours, db down 16 minutes ten hours
-- ago, vpn always up (and never in the state file: unknown). Read by
-- tests/probe-series.bats into a migrated SQLite measurements store.
WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 1439)
INSERT INTO measurements (ts, name, value, unit, tags)
SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (n * 60) || ' seconds'),
  m.name,
  CASE WHEN m.name = 'probe.up' THEN
    (CASE WHEN t.t = 'web' AND n < 120 THEN 0
          WHEN t.t = 'db' AND n BETWEEN 600 AND 615 THEN 0 ELSE 1 END)
  ELSE (CASE t.t WHEN 'web' THEN 0.080 + 0.04 * ((n * 7) % 10) / 10.0
                 WHEN 'db' THEN 0.002 + 0.001 * (n % 5) ELSE 0.03 END) END,
  CASE WHEN m.name = 'probe.up' THEN '' ELSE 's' END,
  json_object('target', t.t, 'type', CASE t.t WHEN 'web' THEN 'http' ELSE 'tcp' END,
              'host', 'heart')
FROM i, (SELECT 'web' AS t UNION ALL SELECT 'db' UNION ALL SELECT 'vpn') t,
  (SELECT 'probe.up' AS name UNION ALL SELECT 'probe.seconds') m;
