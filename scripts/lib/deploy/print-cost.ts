import { type CostEstimate, DAYS_PER_MONTH } from '../../../infra/cost.js';

function usd(amount: number): string {
  return amount >= 0.01 || amount === 0 ? `$${amount.toFixed(2)}` : '<$0.01';
}

function amount(quantity: number): string {
  if (quantity >= 100) return Math.round(quantity).toLocaleString('en-US');
  return quantity >= 0.01 ? quantity.toFixed(2) : quantity.toPrecision(2);
}

function table(rows: string[][], rightAligned: number[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (rightAligned.includes(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The estimate as text: one line per unit price with quantity, price and cost, then totals, assumptions and caveats. */
export function formatCostEstimate(estimate: CostEstimate): string {
  const head = ['service', 'item', 'quantity / month', 'unit price (USD)', 'free / month', 'list', 'after free tier'];
  const rows = estimate.lines.map(({ price, quantity, listUsd, billedUsd }) => [
    price.service,
    price.item,
    `${amount(quantity)} ${price.unit}`,
    `${price.usd} per ${price.unit}`,
    price.freePerMonth ? amount(price.freePerMonth) : '-',
    usd(listUsd),
    usd(billedUsd),
  ]);
  const totals = ['total', '', '', '', '', usd(estimate.listUsd), usd(estimate.billedUsd)];
  const assumptions = Object.entries(estimate.assumptions).map(([name, value]) => `  ${name}: ${value}`);
  return [
    `Estimated monthly cost (${DAYS_PER_MONTH}-day month)`,
    '',
    table([head, ...rows, totals], [2, 4, 5, 6]),
    '',
    'Traffic assumptions (override under cost.assumptions in mlops.deploy.json):',
    ...assumptions,
    '',
    `Unit prices are Google Cloud list prices in USD for a Tier-1 region (us-central1) as of ${estimate.pricesAsOf}, before`,
    'discounts and taxes; override any of them under cost.prices. Free tiers are per billing account. Not included:',
    'network egress, Cloud Build minutes at deploy time (2,500 free a month), Cloud Logging beyond its free 50 GiB.',
  ].join('\n');
}
