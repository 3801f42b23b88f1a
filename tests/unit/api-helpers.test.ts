import { describe, expect, it } from 'vitest';
import { matchesEtag } from '../../services/api/routes/submissions.ts';
import { loadConfig } from '../../services/config.ts';

const ID = '6f1c2a7e-3b4d-4c5e-8f90-123456789abc';

describe('If-None-Match against a report id', () => {
  it('matches the strong tag, its weak form (proxies weaken tags), a list holding it, and *', () => {
    expect(matchesEtag(`"${ID}"`, ID)).toBe(true);
    expect(matchesEtag(`W/"${ID}"`, ID)).toBe(true);
    expect(matchesEtag(`"other", W/"${ID}" , "x"`, ID)).toBe(true);
    expect(matchesEtag('*', ID)).toBe(true);
  });

  it('does not match another id, an unquoted id, or nothing', () => {
    expect(matchesEtag('"6f1c2a7e-3b4d-4c5e-8f90-123456789abd"', ID)).toBe(false);
    expect(matchesEtag(ID, ID)).toBe(false);
    expect(matchesEtag(undefined, ID)).toBe(false);
    expect(matchesEtag('', ID)).toBe(false);
  });
});

describe('TRUST_PROXY', () => {
  it('is off by default and reads true, a hop count or a list of addresses', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });
});
