package io.lamina.ingestion.domain;

import io.lamina.contracts.LabeledText;
import io.lamina.support.InvalidInputException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class DatasetFileTest {
    @Test
    void readsCsvWithQuotesCommasNewlinesAndSplits() {
        String csv = "text,label,split\n"
                + "\"Rain, then snow\",weather,\n"
                + "\"She said \"\"goal!\"\"\nand ran\",sports,train\n"
                + "Sunny all day,weather,test\n";
        DatasetSubmission s = DatasetFile.read(DatasetFile.Format.CSV, csv, "st", "t1", null, null, null);
        assertThat(s.train()).containsExactly(new LabeledText("Rain, then snow", "weather"),
                new LabeledText("She said \"goal!\"\nand ran", "sports"));
        assertThat(s.test()).containsExactly(new LabeledText("Sunny all day", "weather"));
        assertThat(s.labels()).containsExactly("weather", "sports");
        assertThat(s.name()).isEqualTo("t1");
    }

    @Test
    void withoutTestRowsTheTestSplitIsLeftToTheHeldOutRule() {
        DatasetSubmission s = DatasetFile.read(DatasetFile.Format.JSONL,
                "{\"text\":\"a\",\"label\":\"x\"}\n\n{\"text\":\"b\",\"label\":\"y\"}\n", "st", "t1", "Name", null, List.of("y", "x"));
        assertThat(s.test()).isNull();
        assertThat(s.labels()).containsExactly("y", "x");
        assertThat(s.description()).isEqualTo("Name");
    }

    @Test
    void everyBadLineIsNamed() {
        InvalidInputException csv = catchThrowableOfType(InvalidInputException.class, () -> DatasetFile.read(DatasetFile.Format.CSV,
                "text,label,split\nok,a,\n,b,\nfine,,test\nx,c,validation\n", "st", "t1", null, null, null));
        assertThat(csv.errors()).containsExactly("line 3: text is missing or blank", "line 4: label is missing or blank",
                "line 5: split must be train or test, got 'validation'");
        InvalidInputException jsonl = catchThrowableOfType(InvalidInputException.class, () -> DatasetFile.read(DatasetFile.Format.JSONL,
                "{\"text\":\"a\",\"label\":\"x\"}\n[1]\n{\"text\":5,\"label\":\"x\",\"extra\":1}\n{oops\n", "st", "t1", null, null, null));
        assertThat(jsonl.errors()).contains("line 2: not a JSON object", "line 3: unknown field 'extra' (fields: text, label, split)",
                "line 3: text must be a string, got number").anyMatch(e -> e.startsWith("line 4: not a JSON object"));
        assertThatThrownBy(() -> DatasetFile.read(DatasetFile.Format.CSV, "words,category\na,b\n", "st", "t1", null, null, null))
                .isInstanceOf(InvalidInputException.class)
                .satisfies(e -> assertThat(((InvalidInputException) e).errors().get(0)).contains("the header must name the columns text and label"));
        assertThatThrownBy(() -> DatasetFile.read(DatasetFile.Format.CSV, "  ", "st", "t1", null, null, null))
                .isInstanceOf(InvalidInputException.class);
    }
}
