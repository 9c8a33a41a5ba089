import path from 'node:path';
import { FILE_SECRET_VARIABLES } from '../../shared/config/secret-files';

/** One credential a pod reads from a file: `<variable>_FILE` names `file`, a Secret key projected into a volume. */
export interface MountedCredential {
  variable: string;
  file: string;
  secret: string;
  key: string;
  /** The Secret source is optional: a missing key leaves the file out instead of keeping the pod from starting. */
  optional: boolean;
  /** The file's mode (item mode, else the volume's defaultMode, else Kubernetes' 0644). */
  mode: number;
  readOnly: boolean;
}

/**
 * Every `<NAME>_FILE` of FILE_SECRET_VARIABLES a container sets, resolved through its volume mounts to the Secret
 * key whose file it names; throws when one names no projected Secret key (a path no volume provides).
 */
export function mountedCredentials(pod: any, container: any): MountedCredential[] {
  const wanted = new Set<string>(FILE_SECRET_VARIABLES.map((name) => `${name}_FILE`));
  return (container.env ?? [])
    .filter((e: any) => wanted.has(e.name))
    .map((e: any) => {
      const variable = (e.name as string).slice(0, -'_FILE'.length);
      const file = e.value as string;
      const mount = (container.volumeMounts ?? []).find((m: any) => path.dirname(file) === m.mountPath);
      if (!mount) throw new Error(`${e.name}=${file}: no volume is mounted at ${path.dirname(file)}`);
      const volume = (pod.volumes ?? []).find((v: any) => v.name === mount.name);
      const name = path.basename(file);
      const sources: { secret: any; defaultMode: number | undefined }[] = volume?.projected
        ? (volume.projected.sources ?? [])
            .filter((s: any) => s.secret)
            .map((s: any) => ({ secret: s.secret, defaultMode: volume.projected.defaultMode }))
        : volume?.secret
          ? [{ secret: { ...volume.secret, name: volume.secret.secretName }, defaultMode: volume.secret.defaultMode }]
          : [];
      for (const { secret, defaultMode } of sources) {
        const item = (secret.items ?? []).find((i: any) => i.path === name);
        if (!item) continue;
        return {
          variable,
          file,
          secret: secret.name,
          key: item.key,
          optional: secret.optional === true,
          mode: item.mode ?? defaultMode ?? 0o644,
          readOnly: mount.readOnly === true,
        };
      }
      throw new Error(`${e.name}=${file}: volume ${mount.name} projects no Secret key as ${name}`);
    });
}

/** Every Secret item a pod's volumes project (whatever reads them), as `secret/key`. */
export function projectedKeys(pod: any): string[] {
  return (pod.volumes ?? []).flatMap((v: any) =>
    (v.projected?.sources ?? []).flatMap((s: any) => (s.secret?.items ?? []).map((i: any) => `${s.secret.name}/${i.key}`)),
  );
}

/** Variables a container takes straight from a Secret (`valueFrom.secretKeyRef`), which the chart must not set. */
export function secretKeyRefs(container: any): string[] {
  return (container.env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.name as string);
}
