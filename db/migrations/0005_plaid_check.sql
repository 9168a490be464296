CREATE TABLE `cra_reports` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`customer_hash` text NOT NULL,
	`cra_user_id` integer NOT NULL,
	`status` text NOT NULL,
	`origin` text NOT NULL,
	`reason` text,
	`purpose` text,
	`days_requested` integer,
	`products` text NOT NULL,
	`requested_by` integer,
	`requested_at` integer NOT NULL,
	`sent_at` integer,
	`plaid_request_id` text,
	`completed_at` integer,
	`successful_products` text,
	`failed_products` text,
	`webhook_event_id` integer,
	`error_code` text,
	`error_message` text,
	FOREIGN KEY (`cra_user_id`) REFERENCES `cra_users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`requested_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`webhook_event_id`) REFERENCES `webhook_events`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `cra_reports_status` ON `cra_reports` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `cra_reports_customer` ON `cra_reports` (`customer_hash`,`id`);--> statement-breakpoint
CREATE TABLE `cra_users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`customer_hash` text NOT NULL,
	`generation` text NOT NULL,
	`user_id` text NOT NULL,
	`user_token_enc` text,
	`client_user_id` text NOT NULL,
	`created_by` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`created_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cra_users_customer_hash_unique` ON `cra_users` (`customer_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `cra_users_user_id_unique` ON `cra_users` (`user_id`);