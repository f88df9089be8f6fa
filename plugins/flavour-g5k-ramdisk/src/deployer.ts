/**
 * Deploy side of g5k-ramdisk, loaded lazily: the shared kexec engine of @nxc/g5k with no
 * flavour parameter (the initrd holds the whole store: nothing to mount).
 */
import type { FlavourDeployer } from '@nxc/core/flavour';
import { kexecFlavourDeployer } from '@nxc/g5k';

/** The g5k-ramdisk deployer (start / status / transport / stop). */
export const deployer: FlavourDeployer = kexecFlavourDeployer({ flavour: 'g5k-ramdisk' });
