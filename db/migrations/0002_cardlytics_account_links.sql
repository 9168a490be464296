CREATE TABLE `account_link_checks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`customer_hash` text NOT NULL,
	`checked_at` integer NOT NULL,
	`outcome` text NOT NULL,
	`http_status` integer,
	`failure_reason` text,
	`message` text,
	`request_id` text NOT NULL,
	`latency_ms` integer NOT NULL,
	`attempts` integer NOT NULL,
	`mock_data` integer NOT NULL,
	`accounts` text,
	`staff_user_id` integer,
	FOREIGN KEY (`staff_user_id`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `account_link_checks_customer` ON `account_link_checks` (`customer_hash`,`checked_at`);--> statement-breakpoint
CREATE TABLE `cardlytics_accounts` (
	`customer_hash` text NOT NULL,
	`account_id` text NOT NULL,
	`status` text NOT NULL,
	`last4` text,
	`card_type` text,
	`name` text,
	`fi_name` text,
	`linked_date` text,
	`expiration_date` integer,
	`check_id` integer NOT NULL,
	PRIMARY KEY(`customer_hash`, `account_id`),
	FOREIGN KEY (`check_id`) REFERENCES `account_link_checks`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `cardlytics_accounts_expiration` ON `cardlytics_accounts` (`status`,`expiration_date`);--> statement-breakpoint
CREATE TABLE `customers` (
	`hash` text PRIMARY KEY NOT NULL,
	`first_seen_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `recheck_jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` integer,
	`customer_hashes` text NOT NULL,
	`done` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`status` text NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`created_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
