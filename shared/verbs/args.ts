/** Argument pieces the verb catalog, the controller and the CLI share. */
import { z } from 'zod';

export const POWER_ACTIONS = ['on', 'off', 'cycle', 'reset', 'status'] as const;
export const PowerAction = z.enum(POWER_ACTIONS);
export type PowerAction = z.infer<typeof PowerAction>;

/** `muster demo`: failures a simulated node can act out (hang: silent, connection kept; panic: the same after a kernel panic on its console; kill: its connection dies). */
export const DEMO_DRILLS = ['hang', 'panic', 'kill'] as const;
export const DemoDrill = z.enum(DEMO_DRILLS);
export type DemoDrill = z.infer<typeof DemoDrill>;

/** Who opened a hardware-log issue: an admin, a policy, identifier drift, or a console pattern. */
export const HwlogSource = z.enum(['admin', 'policy', 'drift', 'console']);
export type HwlogSource = z.infer<typeof HwlogSource>;

export const SiteFormat = z.enum(['yaml', 'csv']);
export type SiteFormat = z.infer<typeof SiteFormat>;

/** The largest site file `muster import` takes. */
export const MAX_IMPORT_BYTES = 10 * 1024 * 1024;
/**
 * Characters per part the CLI sends. JSON may escape a character into up to 6 bytes, so a part
 * stays under the 256 KiB message limit whatever the file holds.
 */
export const UPLOAD_PART_CHARS = 32 * 1024;
export const MAX_UPLOAD_PARTS = Math.ceil(MAX_IMPORT_BYTES / 1024);

/** `muster image build`: what a Debian image for RAM boot is made of (its cache key, with the agent bundle). */
export const OsImageInputs = z.object({
  suite: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'suite must be a Debian suite name like bookworm'),
  packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]{0,99}$/, 'package names are Debian package names')).max(200).default([]),
  kernelFlavour: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'kernel flavour like cloud-amd64').default('cloud-amd64'),
});
export type OsImageInputs = z.output<typeof OsImageInputs>;

/** The checks `muster doctor` asks the controller for (docs/operations.md, "muster doctor"). */
export const DOCTOR_CHECKS = ['store', 'data-dir', 'tls', 'dhcp', 'tftp', 'loaders', 'images', 'tokens', 'power', 'clock'] as const;
export const DoctorCheckId = z.enum(DOCTOR_CHECKS);
export type DoctorCheckId = z.infer<typeof DoctorCheckId>;
