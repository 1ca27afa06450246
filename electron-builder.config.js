// electron-builder: packages out/ (npm run build) with the resources in build/. The Linux desktop
// entry is build/posh-messenger.desktop; its keys are handed to electron-builder, which writes the
// installed .desktop file (with the real Exec and Icon paths) from them.
import { readFileSync } from 'node:fs';

const desktopFile = readFileSync(new URL('./build/posh-messenger.desktop', import.meta.url), 'utf8');
const entry = Object.fromEntries(
  desktopFile
    .split('\n')
    .filter((line) => /^[A-Za-z]+=/.test(line) && !/^(Type|Exec|Icon)=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);

/** @type {import('electron-builder').Configuration} */
export default {
  appId: 'net.posh-messenger.app',
  productName: 'POSH Messenger',
  executableName: 'posh-messenger',
  directories: { buildResources: 'build', output: 'dist' },
  files: ['out/**', 'build/icon.png', 'package.json'],
  asar: true,
  // Fuses are flipped in the packaged binary: it cannot be run as plain Node (ELECTRON_RUN_AS_NODE),
  // take NODE_OPTIONS or --inspect from whoever starts it, or load anything but its own checked app.asar.
  electronFuses: {
    runAsNode: false,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    enableCookieEncryption: true,
    grantFileProtocolExtraPrivileges: false,
  },
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Network',
    icon: 'build/icon.png',
    desktop: { entry },
  },
  deb: { depends: ['libsecret-1-0'] },
  mac: { category: 'public.app-category.social-networking', icon: 'build/icon.png' },
  win: { icon: 'build/icon.png' },
};
