import { describe, expect, it } from 'vitest';
import { CredentialsError } from '../../api/credentials.ts';
import { decodeSecretData } from './secrets.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('decodeSecretData', () => {
  it('decodes every key to a string credential field', () => {
    expect(decodeSecretData({ username: b64('admin'), password: b64('pä$$ word') }, 'ns/s')).toEqual({ username: 'admin', password: 'pä$$ word' });
  });

  it('refuses binary values and empty Secrets, naming the Secret and key, never a value', () => {
    const bad = Buffer.from([0xff, 0xfe, 0x00]).toString('base64');
    expect(() => decodeSecretData({ password: bad }, 'netform-system/creds')).toThrow(CredentialsError);
    expect(() => decodeSecretData({ password: bad }, 'netform-system/creds')).toThrow('Secret netform-system/creds: the value of password is not UTF-8 text');
    expect(() => decodeSecretData({}, 'netform-system/creds')).toThrow('Secret netform-system/creds has no data');
  });
});
