import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config.ts';

export type InviteMailerConfig = Pick<Config, 'SMTP_HOST' | 'SMTP_PORT' | 'SMTP_SECURE' | 'SMTP_REQUIRE_TLS' | 'SMTP_USER' | 'SMTP_PASSWORD' | 'SMTP_FROM' | 'SMTP_TIMEOUT_MS'>;

export interface InviteEmail {
  to: { name: string; address: string };
  assessmentTitle: string;
  url: string;
  expiresAt: Date;
  maxAttempts: number;
}

/** What the reviewer is told: the invite exists either way, only the e-mail may have failed. */
export type InviteEmailOutcome = { sent: true; to: string } | { sent: false; to: string; reason: string };

/**
 * Sends invite links by e-mail through the configured SMTP server (nodemailer's SMTP transport).
 * Built once at start-up; null when SMTP_HOST is unset (the feature is off).
 */
export class InviteMailer {
  private constructor(
    private readonly transport: Transporter,
    private readonly from: string,
  ) {}

  static fromConfig(c: InviteMailerConfig): InviteMailer | null {
    if (!c.SMTP_HOST || !c.SMTP_FROM) return null;
    const transport = nodemailer.createTransport({
      host: c.SMTP_HOST,
      port: c.SMTP_PORT,
      secure: c.SMTP_SECURE,
      requireTLS: c.SMTP_REQUIRE_TLS,
      auth: c.SMTP_USER ? { user: c.SMTP_USER, pass: c.SMTP_PASSWORD } : undefined,
      // A reviewer waits for the page: a server that does not answer is a visible failure, soon.
      connectionTimeout: c.SMTP_TIMEOUT_MS,
      greetingTimeout: c.SMTP_TIMEOUT_MS,
      socketTimeout: c.SMTP_TIMEOUT_MS,
      dnsTimeout: c.SMTP_TIMEOUT_MS,
    });
    return new InviteMailer(transport, c.SMTP_FROM);
  }

  /**
   * One plain-text message to the candidate: the link, its expiry and the uploads it allows,
   * nothing else (no reviewer name, no key). Never throws: a failure is an outcome to show.
   */
  async send(mail: InviteEmail): Promise<InviteEmailOutcome> {
    const to = mail.to.address;
    try {
      await this.transport.sendMail({
        from: this.from,
        // An address object: nodemailer encodes the name, so it cannot add recipients or headers.
        to: { name: mail.to.name, address: to },
        subject: `Your take-home assessment: ${mail.assessmentTitle}`,
        text: inviteText(mail),
      });
      return { sent: true, to };
    } catch (err) {
      return { sent: false, to, reason: describeSmtpError(err) };
    }
  }

  close(): void {
    this.transport.close();
  }
}

export function inviteText(mail: InviteEmail): string {
  const until = mail.expiresAt.toUTCString().replace('GMT', 'UTC');
  return [
    `Hello ${mail.to.name},`,
    '',
    `You are invited to the take-home assessment "${mail.assessmentTitle}".`,
    'The brief, the data and the upload form are at this link:',
    '',
    mail.url,
    '',
    `The link is valid until ${until} and allows ${mail.maxAttempts} upload${mail.maxAttempts === 1 ? '' : 's'}.`,
    'It is personal: please do not share it.',
    '',
  ].join('\n');
}

/** A short, single-line reason for the reviewer (nodemailer's message, with the SMTP reply when there is one). */
function describeSmtpError(err: unknown): string {
  const e = err as { message?: string; code?: string; responseCode?: number };
  const text = (e.message ?? String(err)).replace(/\s+/g, ' ').trim().slice(0, 300);
  return e.code && !text.includes(e.code) ? `${text} (${e.code})` : text;
}
