DROP INDEX `webhook_events_item`;--> statement-breakpoint
DROP INDEX `webhook_events_status`;--> statement-breakpoint
CREATE INDEX `webhook_events_failed` ON `webhook_events` (`id`) WHERE "webhook_events"."handling_status" = 'failed';