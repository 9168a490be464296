import type { CustomerIdKind } from "../../db/schema";

/** What staff call each kind of id in the identity graph, in the vendors' own words. */
export const ID_KIND_LABEL: Record<CustomerIdKind, string> = {
  item: "Plaid item_id",
  link_session: "Plaid link_session_id",
  check_user: "Plaid Check user_id",
  cardlytics_account: "Cardlytics accountId",
  processor_token: "processor token",
  plaid_request: "Plaid request_id",
};
