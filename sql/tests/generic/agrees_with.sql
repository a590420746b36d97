{#- A portal's field and our derivation of the same fact, side by side: returns the rows where
    both are stated and differ. Used with severity warn: the portal's field is the record, and
    the count of disagreements says how far the derivation (a threshold, a due date) strays. -#}
{% test agrees_with(model, column_name, derived) %}
select *
from {{ model }}
where {{ column_name }} is not null
    and {{ derived }} is not null
    and {{ column_name }} <> {{ derived }}
{% endtest %}
