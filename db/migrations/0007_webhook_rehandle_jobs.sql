CREATE TABLE `webhook_rehandle_jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` integer,
	`filter` text NOT NULL,
	`event_ids` text NOT NULL,
	`done` integer DEFAULT 0 NOT NULL,
	`still_failing` integer DEFAULT 0 NOT NULL,
	`status` text NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`created_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
