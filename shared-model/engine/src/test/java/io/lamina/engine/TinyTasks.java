package io.lamina.engine;

import io.lamina.contracts.LabeledText;

import java.util.ArrayList;
import java.util.List;

/** Tiny hand-written classification tasks for engine tests. */
public final class TinyTasks {
    private TinyTasks() {
    }

    private static void add(List<LabeledText> out, String label, String... texts) {
        for (String t : texts) out.add(new LabeledText(t, label));
    }

    /** animal / vehicle / food, five training sentences each. */
    public static List<LabeledText> things() {
        List<LabeledText> out = new ArrayList<>();
        add(out, "animal",
                "a large striped wild cat that hunts in the jungle",
                "a small furry pet that barks and wags its tail",
                "a bird with colourful feathers that can mimic speech",
                "a grazing farm animal kept for its milk",
                "a slow reptile that carries its shell on its back");
        add(out, "vehicle",
                "a motor car with four doors used for commuting",
                "a two-wheeled machine pedalled by the rider",
                "a large aircraft carrying passengers between airports",
                "a heavy truck that hauls freight on highways",
                "a boat powered by an engine on the river");
        add(out, "food",
                "a baked loaf made from flour, water and yeast",
                "a sweet dessert of frozen cream and sugar",
                "a dish of boiled pasta with tomato sauce",
                "a round red fruit that grows on trees",
                "a bowl of hot soup made with vegetables");
        return out;
    }

    public static List<LabeledText> thingsHeldOut() {
        List<LabeledText> out = new ArrayList<>();
        add(out, "animal", "a horse galloping across the field", "the puppy chewed on its bone");
        add(out, "vehicle", "the bus stopped to let passengers off", "a motorcycle sped down the road");
        add(out, "food", "a slice of cheese pizza", "fresh strawberries with whipped cream");
        return out;
    }

    /** Sports: football / tennis. */
    public static List<LabeledText> sports() {
        List<LabeledText> out = new ArrayList<>();
        add(out, "football",
                "the striker kicked the ball into the net",
                "the goalkeeper saved a penalty in the final",
                "the referee showed a red card to the defender",
                "the soccer team won the league on goal difference");
        add(out, "tennis",
                "she served an ace on match point at Wimbledon",
                "the player hit a backhand volley over the net",
                "he lost the second set in a tie-break",
                "the umpire called the ball out on the baseline");
        return out;
    }

    /** Cooking: baking / grilling. */
    public static List<LabeledText> cooking() {
        List<LabeledText> out = new ArrayList<>();
        add(out, "baking",
                "knead the dough and let it rise before baking the bread",
                "preheat the oven and bake the cake for forty minutes",
                "roll out the pastry and fill the pie with apples",
                "whisk butter and sugar for the cookie batter");
        add(out, "grilling",
                "grill the steaks over hot charcoal for five minutes a side",
                "brush the corn with oil and char it on the barbecue",
                "marinate the chicken skewers before putting them on the grill",
                "sear the burgers on the barbecue until they are charred");
        return out;
    }
}
