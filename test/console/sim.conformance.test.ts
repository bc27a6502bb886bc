import { SimConsole } from '../../controller/console/drivers/sim.js';
import { consoleConformance } from './conformance.js';

consoleConformance('sim', async () => ({
  node: 'n1',
  target: 'sim://',
  // The simulated console is its own far end: it prints its boot script and echoes what is typed.
  farEnd(driver, delivered) {
    if (!(driver instanceof SimConsole)) throw new Error(`sim:// made a ${driver.constructor.name}`);
    return {
      async say() {
        driver.boot();
        return 'n1 login: ';
      },
      heard: delivered,
      drop: async () => driver.drop(),
    };
  },
  malformed: 'sim://elsewhere',
  close: async () => undefined,
}));
