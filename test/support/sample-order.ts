// A valid order request body for tests to send or mutate.
export function validOrder(): Record<string, unknown> {
  return {
    customerId: "cust-1",
    items: [
      { sku: "SKU-1", quantity: 2, unitPriceCents: 1250 },
      { sku: "SKU-2", quantity: 1, unitPriceCents: 999 },
    ],
    currency: "EUR",
    shippingAddress: { name: "Ada", line1: "Main St 1", city: "Berlin", postalCode: "10115", country: "DE" },
    contact: { email: "ada@example.com" },
  };
}
