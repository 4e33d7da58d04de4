package dev.gradguard.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DataShardingTest {
    @Test
    void everySampleIsSeenOncePerEpochAcrossRanks() {
        Set<Long> seen = new HashSet<>();
        for (int r = 0; r < 3; r++) {
            long[] mine = DataSharding.indices(12, 5, 42, r, 3);
            assertEquals(4, mine.length);
            for (long i : mine) {
                assertEquals(true, seen.add(i), "index " + i + " twice");
            }
        }
        assertEquals(12, seen.size());
    }

    @Test
    void unevenDatasetsArePaddedFromTheHeadAndEpochsReshuffle() {
        List<Long> all = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            for (long i : DataSharding.indices(5, 0, 1, r, 2)) {
                all.add(i);
            }
        }
        assertEquals(6, all.size());
        assertEquals(5, new HashSet<>(all).size());
        assertNotEquals(java.util.Arrays.toString(DataSharding.indices(50, 0, 1, 0, 2)),
                java.util.Arrays.toString(DataSharding.indices(50, 1, 1, 0, 2)));
        assertArrayEquals(DataSharding.indices(50, 3, 1, 1, 2), DataSharding.indices(50, 3, 1, 1, 2));
    }

    @Test
    void rankZeroKeepsTheSeedAndOtherRanksGetTheirOwn() {
        assertEquals(1234, DataSharding.seedFor(1234, 0));
        Set<Long> seeds = new HashSet<>();
        for (int r = 0; r < 8; r++) {
            seeds.add(DataSharding.seedFor(1234, r));
        }
        assertEquals(8, seeds.size());
    }
}
