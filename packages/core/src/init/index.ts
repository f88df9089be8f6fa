/** `nxc init`: project templates. */
export { init, listTemplates, defaultTemplatesDir, DEFAULT_TEMPLATE } from './init.js';
export type { InitOptions, InitResult, TemplateInfo } from './init.js';
