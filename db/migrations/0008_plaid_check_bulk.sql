CREATE TABLE `cra_bulk_rows` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`position` integer NOT NULL,
	`input` text NOT NULL,
	`customer_hash` text,
	`outcome` text NOT NULL,
	`message` text,
	`report_id` integer,
	`processed_at` integer,
	FOREIGN KEY (`run_id`) REFERENCES `cra_bulk_runs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`report_id`) REFERENCES `cra_reports`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cra_bulk_rows_report_id_unique` ON `cra_bulk_rows` (`report_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `cra_bulk_rows_position` ON `cra_bulk_rows` (`run_id`,`position`);--> statement-breakpoint
CREATE INDEX `cra_bulk_rows_outcome` ON `cra_bulk_rows` (`run_id`,`outcome`,`position`);--> statement-breakpoint
CREATE TABLE `cra_bulk_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`reason` text NOT NULL,
	`purpose` text NOT NULL,
	`days_requested` integer NOT NULL,
	`products` text NOT NULL,
	`total` integer NOT NULL,
	`status` text NOT NULL,
	`finished_at` integer,
	`cancelled_by` integer,
	FOREIGN KEY (`created_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`cancelled_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
ALTER TABLE `cra_reports` ADD `retry_at` integer;--> statement-breakpoint
ALTER TABLE `cra_reports` ADD `settled_by` text;--> statement-breakpoint
ALTER TABLE `cra_reports` ADD `probed_at` integer;--> statement-breakpoint
ALTER TABLE `cra_reports` ADD `probe_code` text;--> statement-breakpoint
ALTER TABLE `cra_reports` ADD `probe_request_id` text;--> statement-breakpoint
CREATE INDEX `cra_reports_requester` ON `cra_reports` (`requested_by`,`id`);--> statement-breakpoint
CREATE INDEX `cra_reports_requested_at` ON `cra_reports` (`requested_at`);