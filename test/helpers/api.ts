/**
 * JSON over HTTP for tests: returns status, headers and parsed body. `timeoutMs` bounds the request (an error when
 * it passes): for a path that can stall, such as a port-forward.
 */
export async function http(method: string, url: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs?: number) {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
  });
  const text = await response.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, body: json };
}

export interface OrderRequest {
  customerId: string;
  items: { productId: string; quantity: number }[];
  totalAmount: number;
  currency: string;
  paymentToken: string;
}

export function orderRequest(overrides: Partial<OrderRequest> = {}): OrderRequest {
  return {
    customerId: 'c-1',
    items: [{ productId: 'P001', quantity: 1 }],
    totalAmount: 150,
    currency: 'USD',
    paymentToken: 'tok_visa',
    ...overrides,
  };
}
