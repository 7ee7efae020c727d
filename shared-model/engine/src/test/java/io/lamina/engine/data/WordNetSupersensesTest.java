package io.lamina.engine.data;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WordNetSupersensesTest {

    @Test
    void extractsTheDefinitionWithoutExamples() {
        assertThat(WordNetSupersenses.definition(
                "02086723 05 n 01 dog 0 042 @ 02085998 n 0000 | a member of the genus Canis; occurs in many breeds; \"the dog barked all night\"  "))
                .isEqualTo("a member of the genus Canis; occurs in many breeds");
        assertThat(WordNetSupersenses.definition("00000001 16 n 01 x 0 000 | reason; \"there was no occasion for complaint\"  ")).isEqualTo("reason");
        assertThat(WordNetSupersenses.definition("00000001 16 n 01 x 0 000 | a plain definition  ")).isEqualTo("a plain definition");
        assertThat(WordNetSupersenses.definition("00000001 16 n 01 x 0 000 | \"only an example\"")).isNull();
        assertThat(WordNetSupersenses.definition("00000001 16 n 01 x 0 000")).isNull();
    }

    @Test
    void parsesSkippingLicenceTopsDuplicatesAndAmbiguousTexts() throws IOException {
        String data = String.join("\n",
                "  1 This software and database is being provided to you, the LICENSEE, by  ",
                "  2 Princeton University under the following license.  ",
                "00001740 03 n 01 entity 0 000 | that which is perceived  ",
                "00000010 05 n 01 cat 0 000 | a small feline; \"the cat sat\"  ",
                "00000011 05 n 01 kitty 0 000 | a small feline  ",
                "00000012 05 n 01 dog 0 000 | a canine  ",
                "00000013 06 n 01 hammer 0 000 | a hand tool  ",
                "00000014 06 n 01 dogtoy 0 000 | a canine  ",
                "");
        SortedMap<String, List<String>> g = WordNetSupersenses.parse(new ByteArrayInputStream(data.getBytes(StandardCharsets.UTF_8)));
        assertThat(g).isEqualTo(Map.of("noun.animal", List.of("a small feline"), "noun.artifact", List.of("a hand tool")));
        assertThatThrownBy(() -> WordNetSupersenses.parse(new ByteArrayInputStream("00000001 02 n 01 x 0 000 | y".getBytes(StandardCharsets.UTF_8))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown lexicographer file 02");
    }

    @Test
    void readsTheRealWordNet() {
        SortedMap<String, List<String>> g = WordNetSupersenses.glossesBySupersense();
        assertThat(g).hasSize(25).doesNotContainKey("noun.Tops");
        assertThat(WordNetSupersenses.supersenses()).hasSize(25).startsWith("noun.act", "noun.animal").endsWith("noun.time");
        assertThat(WordNetSupersenses.LEXNAMES).containsEntry(3, "noun.Tops").containsEntry(16, "noun.motive").containsEntry(28, "noun.time")
                .containsEntry(29, "verb.body").containsEntry(43, "verb.weather");
        assertThat(g.get("noun.animal")).contains(
                "a member of the genus Canis (probably descended from the common wolf) that has been domesticated by man since prehistoric times; occurs in many breeds");
        assertThat(g.get("noun.motive").size()).isBetween(30, 42);
        assertThat(g.get("noun.artifact").size()).isGreaterThan(10_000);
        for (List<String> texts : g.values()) {
            assertThat(texts).doesNotHaveDuplicates();
            for (String t : texts) assertThat(t).isNotBlank().doesNotContain("; \"").doesNotEndWith(";");
        }
        assertThat(WordNetSupersenses.shortName("noun.animal")).isEqualTo("animal");
    }

    @Test
    void readsTheFifteenVerbSupersensesFromTheJar() {
        var verbs = WordNetSupersenses.glossesBySupersense(WordNetSupersenses.PartOfSpeech.VERB);
        assertThat(verbs).hasSize(15).containsKeys("verb.motion", "verb.weather", "verb.communication");
        for (var e : verbs.entrySet()) assertThat(e.getValue()).as(e.getKey()).hasSizeGreaterThan(40);
        assertThat(WordNetSupersenses.shortName("verb.motion")).isEqualTo("motion");
    }
}
