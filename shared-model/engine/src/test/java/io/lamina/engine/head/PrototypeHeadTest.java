package io.lamina.engine.head;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PrototypeHeadTest {
    @Test
    void growKeepsOldRowsAndLetsTheNewerHeadWinASharedLabel() {
        PrototypeHead older = new PrototypeHead(List.of("a", "b"), new float[][]{{1, 0}, {0, 1}}, 16f, new float[][]{{1, 1}, {2, 2}});
        PrototypeHead newer = new PrototypeHead(List.of("b", "c"), new float[][]{{0, -1}, {-1, 0}}, 16f, new float[][]{{3, 3}, {4, 4}});
        PrototypeHead grown = PrototypeHead.grow(older, newer);
        assertThat(grown.labels()).containsExactly("a", "b", "c");
        assertThat(grown.prototypes()).isEqualTo(new float[][]{{1, 0}, {0, -1}, {-1, 0}});
        assertThat(grown.basePrototypes()).isEqualTo(new float[][]{{1, 1}, {3, 3}, {4, 4}});
        PrototypeHead withoutBase = PrototypeHead.grow(new PrototypeHead(List.of("a"), new float[][]{{1, 0}}, 16f), newer);
        assertThat(withoutBase.basePrototypes()).isNull();
    }

    @Test
    void classifiesByTheNearestPrototypeWhateverItsNorm() {
        PrototypeHead head = new PrototypeHead(List.of("a", "b"), new float[][]{{10, 0}, {0, 0.1f}}, 16f);
        assertThat(head.classify(new float[][]{{0.9f, 0.1f}, {0.1f, 0.9f}, {1f, 1f}})).containsExactly("a", "b", "a");
    }

    @Test
    void basePrototypesMustMatchTheLabels() {
        assertThatThrownBy(() -> new PrototypeHead(List.of("a", "b"), new float[][]{{1}, {2}}, 16f, new float[][]{{1}}))
                .hasMessageContaining("base prototypes");
    }
}
