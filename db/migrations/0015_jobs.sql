CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`recurring` integer DEFAULT false NOT NULL,
	`status` text NOT NULL,
	`params` text NOT NULL,
	`progress_done` integer DEFAULT 0 NOT NULL,
	`progress_total` integer,
	`result` text,
	`error` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`updated_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`created_by`) REFERENCES `staff_users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `jobs_status_kind` ON `jobs` (`status`,`kind`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_kind` ON `jobs` (`kind`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_recurring_kind` ON `jobs` (`kind`) WHERE "jobs"."recurring" = 1;--> statement-breakpoint
INSERT INTO `jobs` (`kind`, `recurring`, `status`, `params`, `progress_done`, `progress_total`, `result`, `attempts`, `created_by`, `created_at`, `started_at`, `updated_at`, `finished_at`)
SELECT 'cardlytics_recheck', 0, `status`, json_object('customerHashes', json(`customer_hashes`)), `done`, json_array_length(`customer_hashes`), json_object('failed', `failed`), 1, `created_by`, `created_at`, `created_at`, coalesce(`finished_at`, `created_at`), `finished_at`
FROM `recheck_jobs` ORDER BY `id`;--> statement-breakpoint
INSERT INTO `jobs` (`kind`, `recurring`, `status`, `params`, `progress_done`, `progress_total`, `result`, `attempts`, `created_by`, `created_at`, `started_at`, `updated_at`, `finished_at`)
SELECT 'webhook_rehandle', 0, `status`, json_object('eventIds', json(`event_ids`), 'filter', json(`filter`)), `done`, json_array_length(`event_ids`), json_object('stillFailing', `still_failing`), 1, `created_by`, `created_at`, `created_at`, coalesce(`finished_at`, `created_at`), `finished_at`
FROM `webhook_rehandle_jobs` ORDER BY `id`;--> statement-breakpoint
INSERT INTO `jobs` (`kind`, `recurring`, `status`, `params`, `progress_done`, `progress_total`, `result`, `attempts`, `created_by`, `created_at`, `started_at`, `updated_at`, `finished_at`)
SELECT 'cra_bulk_run', 0, r.`status`, json_object('runId', r.`id`),
	(SELECT count(*) FROM `cra_bulk_rows` l WHERE l.`run_id` = r.`id` AND l.`outcome` <> 'waiting'), r.`total`,
	(SELECT json_group_object(o.`outcome`, o.`n`) FROM (SELECT l.`outcome`, count(*) AS `n` FROM `cra_bulk_rows` l WHERE l.`run_id` = r.`id` GROUP BY l.`outcome`) o),
	1, r.`created_by`, r.`created_at`, r.`created_at`, coalesce(r.`finished_at`, r.`created_at`), r.`finished_at`
FROM `cra_bulk_runs` r ORDER BY r.`id`;--> statement-breakpoint
DROP TABLE `recheck_jobs`;--> statement-breakpoint
DROP TABLE `webhook_rehandle_jobs`;
