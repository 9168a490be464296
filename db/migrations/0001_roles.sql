INSERT INTO roles (name, label, description) VALUES
  ('support', 'Support agent', 'Looks customers up and reads their Cardlytics links, Plaid items, reports and webhooks.'),
  ('ops', 'Operations', 'Everything support does, plus sandbox and processor tokens, Plaid Check users, report regeneration and webhook re-handling.'),
  ('pm', 'Product manager', 'Reads funnel metrics.'),
  ('admin', 'Administrator', 'Everything, plus staff accounts and the audit log.');
