CREATE TABLE `customer_id_conflicts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`owner_hash` text NOT NULL,
	`claimed_hash` text NOT NULL,
	`source` text NOT NULL,
	`api_key_id` integer,
	FOREIGN KEY (`api_key_id`) REFERENCES `api_keys`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `customer_id_conflicts_owner` ON `customer_id_conflicts` (`owner_hash`,`id`);--> statement-breakpoint
CREATE INDEX `customer_id_conflicts_claimed` ON `customer_id_conflicts` (`claimed_hash`,`id`);--> statement-breakpoint
CREATE TABLE `customer_ids` (
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`customer_hash` text NOT NULL,
	`source` text NOT NULL,
	`api_key_id` integer,
	`first_seen_at` integer NOT NULL,
	PRIMARY KEY(`kind`, `value`),
	FOREIGN KEY (`api_key_id`) REFERENCES `api_keys`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `customer_ids_customer` ON `customer_ids` (`customer_hash`,`kind`);--> statement-breakpoint
CREATE TABLE `link_sessions` (
	`link_session_id` text PRIMARY KEY NOT NULL,
	`customer_hash` text NOT NULL,
	`link_token_enc` text,
	`item_id` text,
	`registered_at` integer NOT NULL,
	`api_key_id` integer,
	FOREIGN KEY (`api_key_id`) REFERENCES `api_keys`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `link_sessions_customer` ON `link_sessions` (`customer_hash`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_cra_users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`customer_hash` text NOT NULL,
	`generation` text NOT NULL,
	`user_id` text,
	`user_token_enc` text,
	`client_user_id` text NOT NULL,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`source` text DEFAULT 'console' NOT NULL,
	`removed_at` integer,
	FOREIGN KEY (`created_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
INSERT INTO `__new_cra_users`("id", "customer_hash", "generation", "user_id", "user_token_enc", "client_user_id", "created_by", "created_at") SELECT "id", "customer_hash", "generation", "user_id", "user_token_enc", "client_user_id", "created_by", "created_at" FROM `cra_users`;--> statement-breakpoint
DROP TABLE `cra_users`;--> statement-breakpoint
ALTER TABLE `__new_cra_users` RENAME TO `cra_users`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `cra_users_customer_hash_unique` ON `cra_users` (`customer_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `cra_users_user_id_unique` ON `cra_users` (`user_id`);--> statement-breakpoint
CREATE TABLE `__new_plaid_items` (
	`item_id` text PRIMARY KEY NOT NULL,
	`customer_hash` text NOT NULL,
	`institution_id` text,
	`institution_name` text,
	`access_token_enc` text,
	`products` text NOT NULL,
	`source` text DEFAULT 'console' NOT NULL,
	`api_key_id` integer,
	`webhook_url` text,
	`status` text NOT NULL,
	`error_code` text,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`removed_at` integer,
	FOREIGN KEY (`api_key_id`) REFERENCES `api_keys`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`created_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
INSERT INTO `__new_plaid_items`("item_id", "customer_hash", "institution_id", "institution_name", "access_token_enc", "products", "webhook_url", "status", "error_code", "created_by", "created_at", "updated_at", "removed_at") SELECT "item_id", "customer_hash", "institution_id", "institution_name", "access_token_enc", "products", "webhook_url", "status", "error_code", "created_by", "created_at", "updated_at", "removed_at" FROM `plaid_items`;--> statement-breakpoint
DROP TABLE `plaid_items`;--> statement-breakpoint
ALTER TABLE `__new_plaid_items` RENAME TO `plaid_items`;--> statement-breakpoint
CREATE INDEX `plaid_items_customer` ON `plaid_items` (`customer_hash`);--> statement-breakpoint
CREATE TABLE `__new_processor_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`item_id` text NOT NULL,
	`account_id` text NOT NULL,
	`processor` text NOT NULL,
	`token_enc` text,
	`token_hint` text NOT NULL,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`sent_to_cardlytics_at` integer,
	`cardlytics_request_id` text,
	`cardlytics_result` text,
	`cardlytics_message` text,
	`revoked_at` integer,
	`source` text DEFAULT 'console' NOT NULL,
	FOREIGN KEY (`item_id`) REFERENCES `plaid_items`(`item_id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`created_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
INSERT INTO `__new_processor_tokens`("id", "item_id", "account_id", "processor", "token_enc", "token_hint", "created_by", "created_at", "sent_to_cardlytics_at", "cardlytics_request_id", "cardlytics_result", "revoked_at") SELECT "id", "item_id", "account_id", "processor", "token_enc", "token_hint", "created_by", "created_at", "sent_to_cardlytics_at", "cardlytics_request_id", CASE WHEN "sent_to_cardlytics_at" IS NOT NULL THEN 'connected' END, "revoked_at" FROM `processor_tokens`;--> statement-breakpoint
DROP TABLE `processor_tokens`;--> statement-breakpoint
ALTER TABLE `__new_processor_tokens` RENAME TO `processor_tokens`;--> statement-breakpoint
CREATE INDEX `processor_tokens_item` ON `processor_tokens` (`item_id`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `scopes` text DEFAULT '["events"]' NOT NULL;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `entries_accepted` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `webhook_deliveries` ADD `link_session_id` text;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_link_session` ON `webhook_deliveries` (`link_session_id`,`id`) WHERE "webhook_deliveries"."link_session_id" is not null;--> statement-breakpoint
CREATE INDEX `account_link_checks_request` ON `account_link_checks` (`request_id`);--> statement-breakpoint
CREATE INDEX `cra_reports_plaid_request` ON `cra_reports` (`plaid_request_id`) WHERE "cra_reports"."plaid_request_id" is not null;--> statement-breakpoint
-- The identity graph starts from everything already known: the console's own items and Check users, the ids the
-- publisher's funnel events tied to customers, and the accounts Cardlytics reported.
INSERT INTO `customer_ids` (`kind`, `value`, `customer_hash`, `source`, `first_seen_at`) SELECT 'item', `item_id`, `customer_hash`, 'console', `created_at` FROM `plaid_items` WHERE true ON CONFLICT DO NOTHING;--> statement-breakpoint
INSERT INTO `customer_ids` (`kind`, `value`, `customer_hash`, `source`, `first_seen_at`) SELECT 'check_user', `user_id`, `customer_hash`, 'console', `created_at` FROM `cra_users` WHERE `user_id` IS NOT NULL ON CONFLICT DO NOTHING;--> statement-breakpoint
INSERT INTO `customer_ids` (`kind`, `value`, `customer_hash`, `source`, `first_seen_at`) SELECT `kind`, `value`, `customer_hash`, 'events', `first_seen_at` FROM `funnel_identities` WHERE true ON CONFLICT DO NOTHING;--> statement-breakpoint
INSERT INTO `customer_ids` (`kind`, `value`, `customer_hash`, `source`, `first_seen_at`) SELECT 'cardlytics_account', a.`account_id`, a.`customer_hash`, 'cardlytics', c.`checked_at` FROM `cardlytics_accounts` a JOIN `account_link_checks` c ON c.`id` = a.`check_id` WHERE true ON CONFLICT DO NOTHING;--> statement-breakpoint
UPDATE `webhook_deliveries` SET `link_session_id` = json_extract(CAST(`body` AS TEXT), '$.link_session_id') WHERE `webhook_type` = 'LINK' AND json_valid(CAST(`body` AS TEXT));--> statement-breakpoint
UPDATE `webhook_deliveries` SET `customer_hash` = (SELECT `customer_hash` FROM `customer_ids` WHERE `kind` = 'link_session' AND `value` = `webhook_deliveries`.`link_session_id`) WHERE `link_session_id` IS NOT NULL AND `customer_hash` IS NULL;
