CREATE TABLE `api_keys` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`prefix` text NOT NULL,
	`secret_sha256` text NOT NULL,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	`revoked_by` integer,
	`last_used_at` integer,
	`events_accepted` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`created_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`revoked_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_prefix_unique` ON `api_keys` (`prefix`);--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_secret_sha256_unique` ON `api_keys` (`secret_sha256`);--> statement-breakpoint
CREATE TABLE `funnel_attribute_keys` (
	`key` text PRIMARY KEY NOT NULL,
	`first_seen_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `funnel_customers` (
	`customer_hash` text PRIMARY KEY NOT NULL,
	`link_started_at` integer,
	`institution_selected_at` integer,
	`credentials_submitted_at` integer,
	`item_added_at` integer,
	`processor_token_created_at` integer,
	`account_linked_at` integer,
	`report_ready_at` integer,
	`institution_id` text,
	`institution_name` text,
	`attributes` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `funnel_customers_cohort` ON `funnel_customers` (`link_started_at`,`institution_selected_at`,`credentials_submitted_at`,`item_added_at`,`processor_token_created_at`,`account_linked_at`,`report_ready_at`,`institution_name`,`institution_id`,`customer_hash`);--> statement-breakpoint
CREATE TABLE `funnel_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text NOT NULL,
	`name` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`received_at` integer NOT NULL,
	`source` text NOT NULL,
	`customer_hash` text,
	`link_session_id` text,
	`item_id` text,
	`institution_id` text,
	`institution_name` text,
	`error_code` text,
	`attributes` text NOT NULL,
	`api_key_id` integer,
	FOREIGN KEY (`api_key_id`) REFERENCES `api_keys`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `funnel_events_event_id_unique` ON `funnel_events` (`event_id`);--> statement-breakpoint
CREATE INDEX `funnel_events_name_time` ON `funnel_events` (`name`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `funnel_events_customer` ON `funnel_events` (`customer_hash`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `funnel_events_session` ON `funnel_events` (`link_session_id`);--> statement-breakpoint
CREATE INDEX `funnel_events_item` ON `funnel_events` (`item_id`);--> statement-breakpoint
CREATE TABLE `funnel_exit_days` (
	`day` integer NOT NULL,
	`error_code` text NOT NULL,
	`errors` integer NOT NULL,
	`exits` integer NOT NULL,
	PRIMARY KEY(`day`, `error_code`)
);
--> statement-breakpoint
CREATE TABLE `funnel_identities` (
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`customer_hash` text NOT NULL,
	`first_seen_at` integer NOT NULL,
	PRIMARY KEY(`kind`, `value`)
);
