import { cleanEnv, type CleanedEnv, type ValidatorSpec } from 'envalid';
import { throwOneLine, type Env } from './env-checks';

/**
 * A service's own knobs, by variable: each an envalid validator with its `default` and a one-line `desc`
 * (`ORDER_TIMEOUT_MS: positiveInt({ default: 60000, desc: '...' })`). Declared with the service, read with the rest
 * of the configuration at start-up (one line naming a bad variable), and handed to that service's `wire` only.
 */
export type SettingsSpec = Readonly<Record<string, ValidatorSpec<unknown>>>;

/** The values of a service's settings, typed from its spec. */
export type SettingsOf<S extends SettingsSpec | undefined> = S extends SettingsSpec ? CleanedEnv<S> : Record<string, never>;

/** What the loader needs of a service to read its settings. */
export interface ServiceSettings {
  name: string;
  settings?: SettingsSpec;
}

/** Each service's settings, by service name, validated; a bad value stops start-up naming its variable. */
export function readSettings(env: Env, services: readonly ServiceSettings[]): Record<string, Readonly<Record<string, unknown>>> {
  return Object.fromEntries(
    services.map((s) => [s.name, s.settings ? (cleanEnv(env, s.settings, { reporter: throwOneLine }) as Record<string, unknown>) : {}]),
  );
}

/** Every variable a service's settings name. */
export const settingVariables = (services: readonly ServiceSettings[]): string[] => services.flatMap((s) => Object.keys(s.settings ?? {}));
