/** The error Plaid (or its simulator) answered a call of the official client with: its status and body fields. */
export async function plaidError(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    const response = (error as { response?: { status: number; data: Record<string, unknown> } }).response;
    if (response) return { status: response.status, ...response.data };
    throw error;
  }
  throw new Error("expected the call to fail");
}
