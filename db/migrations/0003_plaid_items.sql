CREATE TABLE `plaid_accounts` (
	`account_id` text PRIMARY KEY NOT NULL,
	`item_id` text NOT NULL,
	`name` text NOT NULL,
	`official_name` text,
	`mask` text,
	`type` text NOT NULL,
	`subtype` text,
	`balances` text,
	FOREIGN KEY (`item_id`) REFERENCES `plaid_items`(`item_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `plaid_accounts_item` ON `plaid_accounts` (`item_id`);--> statement-breakpoint
CREATE TABLE `plaid_items` (
	`item_id` text PRIMARY KEY NOT NULL,
	`customer_hash` text NOT NULL,
	`institution_id` text,
	`institution_name` text,
	`access_token_enc` text NOT NULL,
	`products` text NOT NULL,
	`webhook_url` text,
	`status` text NOT NULL,
	`error_code` text,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`removed_at` integer,
	FOREIGN KEY (`created_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `plaid_items_customer` ON `plaid_items` (`customer_hash`);--> statement-breakpoint
CREATE TABLE `processor_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`item_id` text NOT NULL,
	`account_id` text NOT NULL,
	`processor` text NOT NULL,
	`token_enc` text NOT NULL,
	`token_hint` text NOT NULL,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`sent_to_cardlytics_at` integer,
	`cardlytics_request_id` text,
	`revoked_at` integer,
	FOREIGN KEY (`item_id`) REFERENCES `plaid_items`(`item_id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`created_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `processor_tokens_item` ON `processor_tokens` (`item_id`);