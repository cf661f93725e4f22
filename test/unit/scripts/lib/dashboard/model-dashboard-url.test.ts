import { describe, expect, it } from 'vitest';
import { modelDashboardUrl } from '../../../../../scripts/lib/dashboard/dashboard-server.js';

describe('the dashboard address of one model', () => {
  it('names the model in the query, encoded', () => {
    expect(modelDashboardUrl('http://127.0.0.1:8790', 'iris')).toBe('http://127.0.0.1:8790/?model=iris');
    expect(modelDashboardUrl('http://127.0.0.1:8790/', 'churn v2&co')).toBe('http://127.0.0.1:8790/?model=churn+v2%26co');
  });
});
