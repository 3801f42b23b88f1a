import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../services/config.ts';
import { InviteMailer, inviteText } from '../../services/invites/invite-mailer.ts';

describe('invite e-mail settings', () => {
  it('off unless SMTP_HOST is set', () => {
    expect(InviteMailer.fromConfig(loadConfig({}))).toBeNull();
  });

  it('SMTP_HOST needs a sender, and a user needs a password', () => {
    expect(() => loadConfig({ SMTP_HOST: 'mail.example.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMTP_HOST: 'mail.example.com' })).toThrow(/SMTP_FROM: is required when SMTP_HOST is set/);
    expect(() => loadConfig({ SMTP_HOST: 'mail.example.com', SMTP_FROM: 'h@example.com', SMTP_USER: 'u' })).toThrow(/SMTP_PASSWORD/);
    const c = loadConfig({ SMTP_HOST: 'mail.example.com', SMTP_FROM: 'h@example.com', SMTP_PORT: '465', SMTP_SECURE: 'true' });
    expect(c).toMatchObject({ SMTP_PORT: 465, SMTP_SECURE: true, SMTP_REQUIRE_TLS: false, SMTP_TIMEOUT_MS: 10_000 });
    expect(InviteMailer.fromConfig(c)).toBeInstanceOf(InviteMailer);
  });

  it('a server that is not there is a failure to show, not an exception', async () => {
    // Port 9 on loopback: nothing listens there, the connection is refused at once.
    const mailer = InviteMailer.fromConfig(loadConfig({ SMTP_HOST: '127.0.0.1', SMTP_PORT: '9', SMTP_FROM: 'h@example.com', SMTP_TIMEOUT_MS: '2000' }))!;
    const out = await mailer.send({ to: { name: 'A', address: 'a@example.com' }, assessmentTitle: 'T', url: 'http://x/i/t', expiresAt: new Date(0), maxAttempts: 1 });
    expect(out).toMatchObject({ sent: false, to: 'a@example.com' });
    expect(out.sent === false && out.reason).toMatch(/ECONNREFUSED/);
    mailer.close();
  });

  it('the text: the link on a line of its own, singular upload', () => {
    const t = inviteText({
      to: { name: 'Ada', address: 'a@example.com' },
      assessmentTitle: 'Churn',
      url: 'https://g.example/i/abc',
      expiresAt: new Date('2030-01-02T03:04:05Z'),
      maxAttempts: 1,
    });
    expect(t).toContain('\nhttps://g.example/i/abc\n');
    expect(t).toContain('valid until Wed, 02 Jan 2030 03:04:05 UTC and allows 1 upload.');
  });
});
