import assert from 'node:assert/strict';
import { amountProblem, toMinorUnits } from '../../shared/money/amount';
import { CURRENCY_CODES, minorUnits } from '../../shared/money/currency';
import { parsePriceList, priceProblem } from '../../shared/money/price-list';
import { moneyProblem } from '../../workers/order/http/order-checks';

describe('money: ISO 4217 currencies and amounts', () => {
  it('knows the minor units of real currencies and refuses made-up, metal and test codes', () => {
    assert.equal(minorUnits('USD'), 2);
    assert.equal(minorUnits('JPY'), 0);
    assert.equal(minorUnits('BHD'), 3);
    for (const code of ['ABC', 'XXX', 'XTS', 'XAU', 'usd', 'US', '']) assert.equal(minorUnits(code), undefined, code);
    assert.ok(CURRENCY_CODES.length > 150 && CURRENCY_CODES.includes('EUR'));
  });

  it('takes amounts with at most the currency’s decimals, and at least one minor unit', () => {
    assert.equal(amountProblem(150, 'USD'), undefined);
    assert.equal(amountProblem(19.99, 'USD'), undefined);
    assert.equal(amountProblem(0.01, 'USD'), undefined);
    assert.equal(amountProblem(1, 'JPY'), undefined);
    assert.equal(amountProblem(1.234, 'BHD'), undefined);
    assert.deepEqual(amountProblem(5e-324, 'USD')?.field, 'amount');
    assert.match(amountProblem(0.001, 'USD')!.detail, /at most 2 decimals/);
    assert.match(amountProblem(1.5, 'JPY')!.detail, /at most 0 decimals/);
    assert.equal(amountProblem(10, 'ABC')?.field, 'currency');
    assert.equal(toMinorUnits(19.99, 2), 1999);
    assert.equal(toMinorUnits(0.1 + 0.2, 2), undefined);
  });

  it('checks a total against the price list in minor units, naming the field', () => {
    const prices = parsePriceList('{"P001": {"USD": 19.99, "JPY": 2000}, "P002": {"USD": 5}}');
    const items = [
      { productId: 'P001', quantity: 3 },
      { productId: 'P002', quantity: 1 },
    ];
    assert.equal(priceProblem(prices, { items, totalAmount: 64.97, currency: 'USD' }), undefined);
    assert.deepEqual(priceProblem(prices, { items, totalAmount: 0.01, currency: 'USD' })?.field, '/totalAmount');
    assert.match(priceProblem(prices, { items, totalAmount: 1, currency: 'USD' })!.detail, /must be 64\.97 USD/);
    assert.deepEqual(priceProblem(prices, { items, totalAmount: 6000, currency: 'JPY' })?.field, '/items/1/productId');
    assert.deepEqual(
      priceProblem(prices, { items: [{ productId: 'P404', quantity: 1 }], totalAmount: 1, currency: 'USD' })?.field,
      '/items/0/productId',
    );
  });

  it('refuses a price list with a bad price, naming the entry', () => {
    assert.throws(() => parsePriceList('{"P001": {"USD": 1.999}}'), /P001\.USD: USD amounts take at most 2 decimals/);
    assert.throws(() => parsePriceList('{"P001": {"ABC": 1}}'), /P001\.ABC/);
    assert.throws(() => parsePriceList('[1]'), /expected/);
    assert.throws(() => parsePriceList('{'), /not JSON/);
  });

  it('the order API names /totalAmount or /currency for a bad amount', () => {
    const order = { items: [{ productId: 'P001', quantity: 1 }], currency: 'USD' };
    assert.equal(moneyProblem({ ...order, totalAmount: 5e-324 }, undefined)?.field, '/totalAmount');
    assert.equal(moneyProblem({ ...order, totalAmount: 5, currency: 'ABC' }, undefined)?.field, '/currency');
    assert.equal(moneyProblem({ ...order, totalAmount: 5 }, undefined), undefined);
  });
});
