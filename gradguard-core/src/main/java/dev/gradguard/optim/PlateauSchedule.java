package dev.gradguard.optim;

import dev.gradguard.state.StateMaps;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@link ReduceLROnPlateau} fed the mean training loss of every {@code interval} applied updates. One interval
 * is one of its epochs, so {@code patience} counts
 * intervals, not updates. The other options keep PyTorch's defaults (mode min, threshold 1e-4 relative,
 * cooldown 0, min_lr 0, eps 1e-8).
 */
final class PlateauSchedule implements LrSchedule {
    private static final String NAME = "plateau";

    private final ReduceLROnPlateau plateau;
    private final long interval;
    private double windowLossSum;
    private long windowUpdates;

    PlateauSchedule(double baseLr, int patience, double factor, long interval) {
        if (interval < 1) {
            throw new IllegalArgumentException("interval must be >= 1, got " + interval);
        }
        this.plateau = new ReduceLROnPlateau(baseLr,
                ReduceLROnPlateau.Options.defaults().withPatience(patience).withFactor(factor));
        this.interval = interval;
    }

    @Override
    public double lr() {
        return plateau.lr();
    }

    @Override
    public void afterUpdate(double loss) {
        windowLossSum += loss;
        windowUpdates++;
        if (windowUpdates == interval) {
            plateau.step(windowLossSum / windowUpdates);
            windowLossSum = 0;
            windowUpdates = 0;
        }
    }

    private Map<String, Object> shape() {
        Map<String, Object> shape = new LinkedHashMap<>();
        shape.put("patience", plateau.options().patience());
        shape.put("factor", plateau.options().factor());
        shape.put("interval", interval);
        return shape;
    }

    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("schedule", NAME);
        state.put("shape", shape());
        state.put("window_loss_sum", StateMaps.jsonDouble(windowLossSum));
        state.put("window_updates", windowUpdates);
        state.put("plateau", plateau.stateDict());
        return state;
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        Schedules.requireSame(NAME, shape(), state);
        double restoredSum = StateMaps.getDouble(state, "window_loss_sum");
        long restoredUpdates = StateMaps.getLong(state, "window_updates");
        if (restoredUpdates < 0 || restoredUpdates >= interval) {
            throw new IllegalArgumentException("state key 'window_updates' must be in [0, " + interval + "), got "
                    + restoredUpdates);
        }
        plateau.loadStateDict(StateMaps.getMap(state, "plateau"));
        windowLossSum = restoredSum;
        windowUpdates = restoredUpdates;
    }
}
