// The account form's advanced fields as text, and the contract's AccountSettings they make. Pure.
import type { AccountSettings } from '../../../src/app/contract.ts';

export interface SettingsFields {
  resolver: string;
  host: string;
  /** A number input: Svelte binds it as a number, or null (or '') when empty. */
  port: string | number | null;
  directTls: boolean;
  extraAnchorsPem: string;
}

const orNull = (value: string): string | null => (value.trim() === '' ? null : value.trim());

export function fieldsOf(settings: AccountSettings | null): SettingsFields {
  return {
    resolver: settings?.resolver ?? '',
    host: settings?.host ?? '',
    port: settings?.port === null || settings?.port === undefined ? '' : String(settings.port),
    directTls: settings?.directTls ?? false,
    extraAnchorsPem: settings?.extraAnchorsPem ?? '',
  };
}

/** The settings the fields describe, or a sentence saying what is wrong with them. */
export function settingsOf(fields: SettingsFields): { ok: true; settings: AccountSettings } | { ok: false; message: string } {
  const text = String(fields.port ?? '').trim();
  const port = text === '' ? null : Number(text);
  if (port !== null && !(Number.isInteger(port) && port >= 1 && port <= 65_535)) {
    return { ok: false, message: 'The port must be a whole number between 1 and 65535.' };
  }
  const host = orNull(fields.host);
  return {
    ok: true,
    settings: {
      resolver: orNull(fields.resolver),
      host,
      port,
      directTls: host !== null && fields.directTls,
      extraAnchorsPem: orNull(fields.extraAnchorsPem),
    },
  };
}
