CREATE TABLE `webhook_deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`received_at` integer NOT NULL,
	`event_id` integer,
	`verdict` text NOT NULL,
	`reason` text,
	`answered_status` integer NOT NULL,
	`body` blob NOT NULL,
	`body_sha256` text NOT NULL,
	`headers` text NOT NULL,
	`kid` text,
	`iat` integer,
	`webhook_type` text,
	`webhook_code` text,
	`item_id` text,
	`user_id` text,
	`customer_hash` text,
	`client_address` text,
	FOREIGN KEY (`event_id`) REFERENCES `webhook_events`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_event` ON `webhook_deliveries` (`event_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_received` ON `webhook_deliveries` (`received_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_type_code` ON `webhook_deliveries` (`webhook_type`,`webhook_code`,`id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_item` ON `webhook_deliveries` (`item_id`,`id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_customer` ON `webhook_deliveries` (`customer_hash`,`id`);--> statement-breakpoint
CREATE TABLE `webhook_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`dedupe_key` text NOT NULL,
	`webhook_type` text,
	`webhook_code` text,
	`item_id` text,
	`user_id` text,
	`customer_hash` text,
	`environment` text,
	`first_received_at` integer NOT NULL,
	`last_received_at` integer NOT NULL,
	`delivery_count` integer NOT NULL,
	`handling_status` text NOT NULL,
	`handling_result` text,
	`handled_at` integer,
	`handle_attempts` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_events_dedupe_key_unique` ON `webhook_events` (`dedupe_key`);--> statement-breakpoint
CREATE INDEX `webhook_events_item` ON `webhook_events` (`item_id`);--> statement-breakpoint
CREATE INDEX `webhook_events_status` ON `webhook_events` (`handling_status`,`id`);