import type { BaseReport, BaseReportAccount, BaseReportTransaction, CraIncomeInsights, CraIncomeStream, CraPartnerInsights } from "plaid";
import { institutionById } from "./fixtures";
import type { SimItem, SimReport } from "./state";

const DAY = 86_400_000;
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

// Deterministic per account: the same report reads the same every time it is fetched.
function transactionsFor(item: SimItem, accountIndex: number, report: SimReport): BaseReportTransaction[] {
  const account = item.accounts[accountIndex]!;
  if (account.type !== "depository" || account.subtype !== "checking") return [];
  const out: BaseReportTransaction[] = [];
  const income = item.persona.monthlyIncome;
  for (let month = 0; month < 6; month++) {
    const payday = report.readyAt - (month * 30 + 3) * DAY;
    if (income) {
      out.push(tx(account.account_id, `${item.itemId.slice(0, 8)}pay${month}`, -income, payday, "ACME CORP PAYROLL DIRECT DEP", "INCOME"));
    }
    out.push(tx(account.account_id, `${item.itemId.slice(0, 8)}rent${month}`, income ? Math.round(income * 0.3) : 950, payday + 2 * DAY, "RENT PAYMENT ONLINE", "RENT_AND_UTILITIES"));
    out.push(tx(account.account_id, `${item.itemId.slice(0, 8)}groc${month}`, 142.37 + month, payday + 5 * DAY, "WHOLEFDS MKT 10234", "FOOD_AND_DRINK"));
  }
  return out;
}

function tx(accountId: string, id: string, amount: number, at: number, description: string, category: string): BaseReportTransaction {
  return {
    account_id: accountId,
    transaction_id: id.padEnd(37, "0").slice(0, 37),
    amount,
    date: isoDate(at),
    date_transacted: isoDate(at),
    original_description: description,
    merchant_name: null,
    pending: false,
    iso_currency_code: "USD",
    unofficial_currency_code: null,
    credit_category: { primary: category, detailed: `${category}_OTHER` },
    check_number: null,
    account_owner: null,
  };
}

export function baseReport(report: SimReport, items: SimItem[]): BaseReport {
  const start = report.readyAt - report.daysRequested * DAY;
  const all: BaseReportTransaction[] = [];
  const reportItems = items.map((item) => ({
    item_id: item.itemId,
    institution_id: item.institutionId,
    institution_name: institutionById(item.institutionId)?.name ?? item.institutionId,
    date_last_updated: new Date(report.readyAt).toISOString(),
    accounts: item.accounts.map((a, index): BaseReportAccount => {
      const transactions = transactionsFor(item, index, report);
      all.push(...transactions);
      return {
        account_id: a.account_id,
        name: a.name,
        official_name: a.official_name,
        mask: a.mask,
        type: a.type,
        subtype: a.subtype,
        days_available: Math.min(report.daysRequested, 365),
        ownership_type: null,
        consumer_disputes: [],
        owners: [{ names: ["Alberta Bobbeth Charleson"], addresses: [], emails: [], phone_numbers: [] }],
        balances: { ...a.balances, average_balance: a.balances.current, most_recent_thirty_day_average_balance: a.balances.current, average_monthly_balances: [] },
        metadata: { start_date: isoDate(start), end_date: isoDate(report.readyAt) },
        transactions,
      };
    }),
  }));
  const money = (amount: number) => ({ amount, iso_currency_code: "USD", unofficial_currency_code: null });
  return {
    report_id: report.reportId,
    date_generated: new Date(report.readyAt).toISOString(),
    days_requested: report.daysRequested,
    client_report_id: null,
    items: reportItems,
    attributes: {
      nsf_overdraft_transactions_count: 0,
      // Plaid's sign convention: money in is negative.
      total_inflow_amount: money(all.filter((t) => t.amount < 0).reduce((s, t) => s + t.amount, 0)),
      total_outflow_amount: money(all.filter((t) => t.amount > 0).reduce((s, t) => s + t.amount, 0)),
    },
  } as BaseReport;
}

export function incomeInsights(report: SimReport, items: SimItem[]): CraIncomeInsights {
  const streams: CraIncomeStream[] = items.flatMap((item) => {
    const income = item.persona.monthlyIncome;
    const checking = item.accounts.find((a) => a.subtype === "checking");
    if (!income || !checking) return [];
    const payments = transactionsFor(item, item.accounts.indexOf(checking), report).filter((t) => t.amount < 0);
    return [
      {
        income_stream_id: `${item.itemId.slice(0, 12)}-payroll`,
        start_date: payments.at(-1)!.date,
        end_date: payments[0]!.date,
        description: "ACME CORP PAYROLL",
        insights: {
          income_category: { primary: "INCOME", secondary: "SALARY" },
          pay_frequency: "MONTHLY",
          income_provider: { name: "Acme Corp", is_normalized: true },
          status: "ACTIVE",
          next_payment: { date: isoDate(report.readyAt + 27 * 86_400_000) },
        },
        income_metrics: {
          current: { monthly: { gross_income: Math.round(income * 1.28), net_income: income }, annual: { gross_income: Math.round(income * 1.28 * 12), net_income: income * 12 } },
          projected: null,
          iso_currency_code: "USD",
          unofficial_currency_code: null,
        },
        transactions: payments.map((t) => ({ transaction_id: t.transaction_id, item_id: item.itemId, account_id: t.account_id, amount: t.amount, date: t.date, original_description: t.original_description ?? "", iso_currency_code: "USD", unofficial_currency_code: null, outlier: { is_outlier: false } })),
      } as unknown as CraIncomeStream,
    ];
  });
  return {
    report_id: report.reportId,
    generated_time: new Date(report.readyAt).toISOString(),
    days_requested: report.daysRequested,
    client_report_id: null,
    items: items.map((item) => ({ item_id: item.itemId, institution_id: item.institutionId, institution_name: institutionById(item.institutionId)?.name, last_updated_time: new Date(report.readyAt).toISOString(), bank_income_accounts: [], bank_income_sources: [] })),
    income_streams: streams,
  };
}

export function partnerInsights(report: SimReport, items: SimItem[]): CraPartnerInsights {
  const income = items.reduce((s, i) => s + (i.persona.monthlyIncome ?? 0), 0);
  const score = Math.max(300, Math.min(850, 450 + Math.round(income / 30)));
  return {
    report_id: report.reportId,
    generated_time: new Date(report.readyAt).toISOString(),
    client_report_id: null,
    items: items.map((item) => ({ item_id: item.itemId, institution_id: item.institutionId, institution_name: institutionById(item.institutionId)?.name, accounts: [] })),
    prism: { cash_score: { version: 3, model_version: "3", score, reason_codes: score < 600 ? ["CS03011K"] : [] }, status: "SUCCESS" },
    fico: null,
  };
}
