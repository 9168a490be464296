DROP INDEX `webhook_deliveries_item`;--> statement-breakpoint
DROP INDEX `webhook_deliveries_customer`;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_user` ON `webhook_deliveries` (`user_id`,`id`) WHERE "webhook_deliveries"."user_id" is not null;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_item` ON `webhook_deliveries` (`item_id`,`id`) WHERE "webhook_deliveries"."item_id" is not null;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_customer` ON `webhook_deliveries` (`customer_hash`,`id`) WHERE "webhook_deliveries"."customer_hash" is not null;--> statement-breakpoint
CREATE INDEX `cra_reports_webhook_event` ON `cra_reports` (`webhook_event_id`) WHERE "cra_reports"."webhook_event_id" is not null;