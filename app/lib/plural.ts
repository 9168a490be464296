const rules = new Intl.PluralRules("en-US");
const numbers = new Intl.NumberFormat("en-US");

/** The form of a word English plural rules pick for a count: "day" for 1, "days" otherwise. */
export function pluralWord(count: number, one: string, many = `${one}s`): string {
  return rules.select(count) === "one" ? one : many;
}

/**
 * "1 day", "3 days", "0 accounts", "1,204 entries": the count with the word in its form for that count.
 * `many` is the plural form, given when it is not the singular plus "s".
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${numbers.format(count)} ${pluralWord(count, one, many)}`;
}
