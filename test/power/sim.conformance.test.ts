import { SimPowerPlant } from '../../controller/power/drivers/sim.js';
import { powerConformance, type SeenCommand } from './conformance.js';

powerConformance('sim', async () => {
  const plant = new SimPowerPlant();
  const seen: SeenCommand[] = [];
  plant.on('change', (node, _state, action) => {
    if (node === 'n001' && action !== 'status') seen.push(action);
  });
  return {
    node: 'n001',
    target: 'sim://?delay=5',
    opts: { simPlant: plant },
    counterpart: {
      state: async () => (plant.state('n001') === 'on' ? 'on' : 'off'),
      set: async (state) => plant.set('n001', state, state),
      seen: async () => [...seen],
    },
    hung: { target: 'sim://?hang=status,on,off,cycle,reset', node: 'n002' },
    close: async () => undefined,
  };
});
